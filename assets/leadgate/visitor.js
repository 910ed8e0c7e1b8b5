import { VISITOR_KEY, localValue } from "./storage.js";

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

export const newUuid = () => {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  // crypto.randomUUID needs a secure context; build a version 4 UUID by hand.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let hex = "";
  bytes[6] = (bytes[6] & 15) | 64; // version 4
  bytes[8] = (bytes[8] & 63) | 128; // RFC 4122 variant
  for (let index = 0; index < 16; index++) hex += (bytes[index] + 256).toString(16).slice(1);
  return hex.replace(/^(.{8})(.{4})(.{4})(.{4})/, "$1-$2-$3-$4-");
};

const visitorIdFromCookie = () => {
  const match = document.cookie.match(/(?:^|; )lg_vid=([^;]+)/);
  return match ? match[1] : "";
};

// The id this browser already has (the hosted pages' cookie first, then the site's
// storage), or a new one.
export const knownOrNewVisitorId = () =>
  [visitorIdFromCookie(), localValue(VISITOR_KEY)].filter((candidate) =>
    UUID_V4.test(candidate || ""),
  )[0] || newUuid();

// Global Privacy Control or Do Not Track: nothing is sent until the visitor identifies.
export const visitorAskedNotToBeTracked = () =>
  navigator.globalPrivacyControl === true ||
  navigator.doNotTrack == "1" ||
  window.doNotTrack == "1";
