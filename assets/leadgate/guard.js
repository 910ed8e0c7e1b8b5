// The tracker runs inside other people's pages: whatever goes wrong in it must never throw
// into the host page. Every entry point (timers, listeners, promise callbacks) is wrapped.
export const guarded =
  (callback) =>
  (first, second) => {
    try {
      return callback(first, second);
    } catch (ignored) {
      // Swallowed on purpose: a broken tracker is better than a broken host page.
    }
  };
