// localStorage, which may be missing or refuse (private modes, quotas, blocked storage).
//   localValue(key)        -> the stored string, null if absent, undefined if unavailable
//   localValue(key, null)  -> removes it
//   localValue(key, value) -> stores it
export const localValue = (key, value) => {
  try {
    if (value === undefined) return localStorage.getItem(key);
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, value);
  } catch (unavailable) {
    // Tracking still works for this page view, only without memory across pages.
  }
};

export const VISITOR_KEY = "lg_vid"; // localStorage key and hosted-page cookie name
export const QUEUE_KEY = "lg_q"; // events not yet accepted by leadgate
export const IDENTIFIED_KEY = "lg_idf"; // "1" once this visitor has submitted a form
