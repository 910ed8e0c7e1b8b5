import { IDENTIFIED_KEY, VISITOR_KEY, localValue } from "./storage.js";
import { knownOrNewVisitorId, visitorAskedNotToBeTracked } from "./visitor.js";

// What the embedding <script> tag says, and what the tracker knows about the visitor.
// One object shared by the modules: the gate's config may change minDwellMs and idleMs, and a
// submitted form sets identified.
export const createContext = (script) => {
  const dataAttribute = (name) => script.getAttribute("data-" + name);
  const host = (dataAttribute("host") || new URL(script.src, location.href).origin).replace(
    /\/$/,
    "",
  );
  const privacyRequested = visitorAskedNotToBeTracked();
  const context = {
    dataAttribute,
    gate: dataAttribute("gate") || "",
    host,
    apiBase: host + "/api/v1/public/",
    minDwellMs: Number(dataAttribute("min-dwell-ms")) || 5000,
    idleMs: Number(dataAttribute("idle-ms")) || 30000,
    identified: localValue(IDENTIFIED_KEY) == "1" || dataAttribute("identified") == "1",
    // With GPC/DNT on, only once the visitor has submitted a form (its notice covers it).
    trackingAllowed: () => !privacyRequested || context.identified,
    visitorId: knownOrNewVisitorId(),
  };
  return context;
};

// First-party storage only, once tracking is allowed (GPC/DNT: after the form). The
// cookie only on leadgate's hosted pages, whose server reads it.
export const rememberVisitor = (context) => {
  if (!context.trackingAllowed()) return;
  localValue(VISITOR_KEY, context.visitorId);
  if (context.dataAttribute("hosted")) {
    document.cookie =
      `${VISITOR_KEY}=${context.visitorId};path=/;max-age=31536000;SameSite=Lax` +
      (location.protocol == "https:" ? ";Secure" : "");
  }
};
