/** Step durations a real-component test prints at the end (numbers for the reader, never asserted: no timed tests). */
export function createTimings() {
  const timings: Record<string, number> = {};
  async function timed<T>(step: string, run: () => Promise<T>): Promise<T> {
    const start = performance.now();
    try {
      return await run();
    } finally {
      timings[step] = Math.round(performance.now() - start);
    }
  }
  return { timings, timed };
}
