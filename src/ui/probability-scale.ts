// How a token's probability is shown: one of five levels, each a shade of one hue that gets stronger
// as the token gets less likely, so the surprising tokens stand out. The shades differ in lightness,
// which colour-blind eyes see as well as any (and greyscale keeps), and the probability itself is
// always in words too. Light and dark themes have their own shades, each keeping the text on it at
// AA contrast (4.5:1 or more).
import { css } from 'lit';

export interface ProbabilityLevel {
  /** The level holds probabilities from this up (to the previous level's bound). */
  atLeast: number;
  label: string;
}

/** Most likely first; a probability belongs to the first level whose bound it reaches. */
export const PROBABILITY_LEVELS: readonly ProbabilityLevel[] = [
  { atLeast: 0.7, label: '70% or more' },
  { atLeast: 0.3, label: '30–70%' },
  { atLeast: 0.1, label: '10–30%' },
  { atLeast: 0.01, label: '1–10%' },
  { atLeast: 0, label: 'under 1%' },
];

/** The index in PROBABILITY_LEVELS of `probability`'s level. */
export function probabilityLevel(probability: number): number {
  const level = PROBABILITY_LEVELS.findIndex((each) => probability >= each.atLeast);
  return level < 0 ? PROBABILITY_LEVELS.length - 1 : level;
}

/** 0.4234 → "42.3%", 0.0042 → "0.42%", 0.00001 → "<0.01%": enough digits to compare small ones. */
export function formatProbability(probability: number): string {
  if (probability >= 1) return '100%';
  if (probability <= 0) return '0%';
  const percent = probability * 100;
  if (percent >= 1) return `${percent.toFixed(1)}%`;
  if (percent >= 0.01) return `${percent.toPrecision(2)}%`;
  return '<0.01%';
}

/** The class that shades an element by `probability`'s level: `.level-0` … `.level-4`. */
export function levelClass(probability: number): string {
  return `level-${probabilityLevel(probability)}`;
}

/** The shades, for any component that shows probabilities (their text stays var(--text)). */
export const probabilityStyles = css`
  .level-0 {
    --level: #fdf3e1;
  }
  .level-1 {
    --level: #fbdba6;
  }
  .level-2 {
    --level: #f7bd6c;
  }
  .level-3 {
    --level: #ee9a45;
  }
  .level-4 {
    --level: #dc7a2c;
  }
  @media (prefers-color-scheme: dark) {
    .level-0 {
      --level: #2c2822;
    }
    .level-1 {
      --level: #45331a;
    }
    .level-2 {
      --level: #5f4114;
    }
    .level-3 {
      --level: #7a4e0d;
    }
    .level-4 {
      --level: #915a05;
    }
  }
`;
