/**
 * Grouped decimal formatting ("4,800.00"), without Intl: loading ICU on first use costs tens of
 * milliseconds of start-up, and these strings must not depend on the machine's locale.
 */
export function formatGrouped(value: number, fractionDigits = 0): string {
  const fixed = Math.abs(value).toFixed(fractionDigits);
  const dot = fixed.indexOf('.');
  const whole = dot === -1 ? fixed : fixed.slice(0, dot);
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${value < 0 ? '-' : ''}${grouped}${dot === -1 ? '' : fixed.slice(dot)}`;
}
