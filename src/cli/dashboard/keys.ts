/**
 * Key presses to intents. Intents that only change state are reducer actions the container can
 * dispatch as they are; quit, refresh, feedback (and the fetch behind openDetail) need the container.
 */
import type { Key } from 'ink';
import type { DashboardAction, DashboardViewName } from './state.js';

export type KeyIntent =
  | { type: 'quit' }
  | { type: 'refresh' }
  | { type: 'feedback'; isCorrect: boolean }
  | Extract<
      DashboardAction,
      { type: 'togglePause' | 'selectNext' | 'selectPrev' | 'openDetail' | 'closeDetail' | 'toggleHelp' }
    >;

/** The key fields read here; a full Ink Key fits. */
export type KeyPress = Partial<
  Pick<Key, 'upArrow' | 'downArrow' | 'return' | 'escape' | 'backspace' | 'delete' | 'ctrl' | 'meta'>
>;

/** The legend the footer and help view show, per view. */
export const KEY_HELP: readonly { keys: string; what: string }[] = [
  { keys: '↑/↓ k/j', what: 'select a flagged transaction' },
  { keys: 'enter', what: 'open its detail (features, Shapley values, risk factors)' },
  { keys: 'c / i', what: 'in detail: record the verdict as correct / incorrect' },
  { keys: 'esc', what: 'back (close detail or help)' },
  { keys: 'r', what: 'refresh now' },
  { keys: 'p', what: 'pause / resume automatic refresh' },
  { keys: '?', what: 'toggle this help' },
  { keys: 'q', what: 'quit' },
];

export function keyIntent(input: string, key: KeyPress, view: DashboardViewName): KeyIntent | null {
  const ch = input.toLowerCase();
  if (key.ctrl) return ch === 'c' ? { type: 'quit' } : null;
  // Before meta: Ink reports Escape with meta set, so checking meta first swallowed it.
  if (key.escape || key.backspace || key.delete) return view === 'main' ? null : { type: 'closeDetail' };
  if (key.meta) return null;
  if (ch === 'q') return { type: 'quit' };
  if (ch === 'r') return { type: 'refresh' };
  if (ch === 'p') return { type: 'togglePause' };
  if (input === '?') return { type: 'toggleHelp' };
  if (view === 'main') {
    if (key.upArrow || ch === 'k') return { type: 'selectPrev' };
    if (key.downArrow || ch === 'j') return { type: 'selectNext' };
    if (key.return) return { type: 'openDetail' };
  }
  if (view === 'detail') {
    if (ch === 'c') return { type: 'feedback', isCorrect: true };
    if (ch === 'i') return { type: 'feedback', isCorrect: false };
  }
  return null;
}
