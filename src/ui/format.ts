// Numbers as people read them in the UI: sizes in decimal units (as the hub and disk tools show
// them), parameter counts in millions or billions, and durations rounded to what is worth waiting for.

const BYTE_UNITS = ['B', 'kB', 'MB', 'GB', 'TB'];

/** 548105171 → "548 MB", 1519974136 → "1.52 GB": three significant digits. */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < BYTE_UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${unit === 0 ? value : threeDigits(value)} ${BYTE_UNITS[unit]}`;
}

/** 124439808 → "124M", 1557611200 → "1.56B". */
export function formatParameters(count: number): string {
  if (count >= 1e9) return `${threeDigits(count / 1e9)}B`;
  if (count >= 1e6) return `${threeDigits(count / 1e6)}M`;
  if (count >= 1e3) return `${threeDigits(count / 1e3)}k`;
  return String(count);
}

/** 12.5 → "13 s", 125 → "2 min 5 s", 3780 → "1 h 3 min". */
export function formatDuration(seconds: number): string {
  const total = Math.max(0, Math.round(seconds));
  if (total < 60) return `${total} s`;
  if (total < 3600) return `${Math.floor(total / 60)} min ${total % 60} s`;
  return `${Math.floor(total / 3600)} h ${Math.floor((total % 3600) / 60)} min`;
}

/** Tokens (or anything) per second: one decimal below 100, none above. */
export function formatRate(perSecond: number): string {
  return perSecond >= 100 ? perSecond.toFixed(0) : perSecond.toFixed(1);
}

function threeDigits(value: number): string {
  // toPrecision(3) would write 1000-ish values as "1.00e+3"; below 1000 it gives 3 significant digits.
  return value >= 100 ? value.toFixed(0) : value.toPrecision(3);
}

/** How far a download is, in whole percent (rounded down, so 100 means done), or null before its size is known. */
export function downloadPercent(progress: { bytesDone: number; bytesTotal: number } | null | undefined): number | null {
  return progress && progress.bytesTotal > 0 ? Math.floor((100 * progress.bytesDone) / progress.bytesTotal) : null;
}
