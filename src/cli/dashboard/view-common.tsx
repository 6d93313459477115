/** Small pieces shared by the dashboard's views. */
import { Text } from 'ink';
import type { ReactNode } from 'react';

/**
 * Colour only when allowed: with color=false every helper yields no colour and no dim (NO_COLOR);
 * bold and inverse stay, since they carry emphasis and selection without colour.
 */
export interface Paint {
  color: boolean;
  fg(name: string): string | undefined;
  dim: boolean;
}

export function paint(color: boolean): Paint {
  return { color, fg: (name) => (color ? name : undefined), dim: color };
}

/** One terminal line; callers fit the text to width, truncate is the safety net against wrapping. */
export function Line({ children, bold, inverse }: { children?: ReactNode; bold?: boolean; inverse?: boolean }) {
  return (
    <Text wrap="truncate-end" bold={bold} inverse={inverse}>
      {children}
    </Text>
  );
}

/** A section title: bold, and cyan when colour is on. */
export function Title({ p, children }: { p: Paint; children?: ReactNode }) {
  return (
    <Text wrap="truncate-end" bold color={p.fg('cyan')}>
      {children}
    </Text>
  );
}

/** Colour for a risk level name. */
export function levelColor(level: string): string {
  return level === 'highest' ? 'red' : level === 'elevated' ? 'yellow' : 'green';
}
