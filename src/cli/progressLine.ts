/**
 * A one-line progress display for a terminal: count, rate and, when the input's size
 * is known, an ETA from the bytes read so far. Redrawn at most a few times a second.
 */
export function createProgressLine(options: { write: (text: string) => void; totalBytes: number | undefined; startedAt: number; now: () => number }) {
  let lastDraw = 0;
  return {
    update(count: number, bytesRead: number): void {
      const now = options.now();
      if (now - lastDraw < 200) {
        return;
      }
      lastDraw = now;
      options.write(`\r${describe({ count, bytesRead, elapsedMs: now - options.startedAt, totalBytes: options.totalBytes })}`);
    },
    finish(): void {
      options.write('\r\x1b[K');
    },
  };
}

export function describe(state: { count: number; bytesRead: number; elapsedMs: number; totalBytes: number | undefined }): string {
  const seconds = Math.max(state.elapsedMs / 1000, 0.001);
  const rate = state.count / seconds;
  const parts = [`${state.count.toLocaleString('en-GB')} responses`, `${Math.round(rate).toLocaleString('en-GB')}/s`];
  if (state.totalBytes && state.bytesRead > 0) {
    const fraction = Math.min(state.bytesRead / state.totalBytes, 1);
    const remaining = (seconds / fraction) * (1 - fraction);
    const width = 20;
    const filled = Math.round(fraction * width);
    parts.unshift(`[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${Math.round(fraction * 100)}%`);
    parts.push(`ETA ${formatDuration(remaining)}`);
  }
  return parts.join('  ');
}

function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}
