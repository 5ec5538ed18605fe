import { CELL_STATES, stateColors } from './cell-style';
import { useDarkMode } from '../../ui/use-dark-mode';

export function Legend() {
  const dark = useDarkMode();
  return (
    <ul className="legend" aria-label="Cell status legend">
      {CELL_STATES.map((s) => {
        const c = stateColors(s, dark);
        return (
          <li key={s}>
            <span className="swatch" style={{ background: c.bg ?? 'var(--bg)', borderColor: c.fg ?? 'var(--border)' }} aria-hidden="true" />
            {s}
          </li>
        );
      })}
    </ul>
  );
}
