import { rememberVisitor } from "./context.js";
import { element } from "./dom.js";
import { reportedPageUrl } from "./event-queue.js";
import { FORM_CSS } from "./form-styles.js";
import { guarded } from "./guard.js";
import { IDENTIFIED_KEY, localValue } from "./storage.js";

const EMAIL_SHAPE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const ANSWERED_ELSEWHERE = ["name", "email", "subscribe"]; // top-level fields, not answers
const UTM_PARAMETERS = ["utm_source", "utm_medium", "utm_campaign"];

const fetchGateConfig = (context, slug) =>
  // No visitor id leaves the page while tracking is not allowed.
  fetch(
    context.apiBase +
      "gates/" +
      slug +
      (context.trackingAllowed() ? "?visitor_id=" + context.visitorId : ""),
    { credentials: "omit" },
  ).then((response) => {
    if (!response.ok) throw response.status;
    return response.json();
  });

// What the form slot says when the gate's config (which brings the gate's own words, in
// its language) cannot be fetched: that the form did not load, and a link to its hosted
// page. In the host page's language, else the browser's, among those leadgate ships.
const FALLBACK = {
  en: ["The form could not load here.", "Open the form"],
  de: ["Das Formular konnte hier nicht geladen werden.", "Formular öffnen"],
  fr: ["Le formulaire n’a pas pu se charger ici.", "Ouvrir le formulaire"],
  es: ["El formulario no se ha podido cargar aquí.", "Abrir el formulario"],
};

const fallbackLanguage = () =>
  [document.documentElement.lang, navigator.language]
    .map((code) => (code || "").toLowerCase().split("-")[0])
    .filter((code) => FALLBACK.hasOwnProperty(code))[0] || "en";

// The form of one <div data-leadgate-form="slug">, in an open shadow root.
// tracker: { context, track, startTracking }.
export const renderGateForm = (box, tracker) => {
  const { context } = tracker;
  const slug = box.getAttribute("data-leadgate-form") || context.gate;
  const root = box.shadowRoot || box.attachShadow({ mode: "open" });
  root.innerHTML = "";
  root.appendChild(element("style", { text: FORM_CSS }));
  const hostedPage = context.host + "/g/" + slug;
  fetchGateConfig(context, slug)
    .then(
      guarded((config) => {
        if (config.min_dwell_ms >= 0 && !context.dataAttribute("min-dwell-ms")) {
          context.minDwellMs = config.min_dwell_ms;
        }
        if (config.idle_timeout_ms > 0 && !context.dataAttribute("idle-ms")) {
          context.idleMs = config.idle_timeout_ms;
        }
        if (!config.fields.length) return; // epiphany: open content, no form
        buildForm(root, box, slug, config, tracker);
        tracker.track("form_view", {}, slug);
      }),
    )
    .catch(
      guarded(() => {
        // leadgate down or blocked: say so and link the hosted page (works without JS).
        // `lang` on the words: they may not be in the host page's language.
        const language = fallbackLanguage();
        const [failed, open] = FALLBACK[language];
        root.appendChild(
          element("p", { lang: language }, [
            document.createTextNode(failed + " "),
            element("a", { href: hostedPage, text: open }),
          ]),
        );
      }),
    );
};

const fieldInput = (field, id, labels) => {
  const attributes = { id, name: field.name };
  if (field.type === "choice") {
    return element(
      "select",
      attributes,
      [element("option", { value: "", text: labels.choose })].concat(
        (field.choices || []).map((choice) => element("option", { value: choice, text: choice })),
      ),
    );
  }
  attributes.type =
    field.type === "checkbox" ? "checkbox" : field.type === "email" ? "email" : "text";
  if (field.name === "name") attributes.autocomplete = "name";
  if (field.type === "email") {
    attributes.autocomplete = "email";
    attributes.inputmode = "email";
    attributes.autocapitalize = "off";
  }
  if (field.type !== "checkbox") {
    attributes.maxlength = field.name === "email" ? 254 : field.name === "name" ? 200 : 500;
  }
  if (field.required) attributes.required = "";
  return element("input", attributes);
};

const buildForm = (root, box, slug, config, tracker) => {
  const { context } = tracker;
  const form = element("form", { novalidate: "", "aria-labelledby": "t" });
  const status = element("p", { class: "s", role: "status", "aria-live": "polite" });
  const inputs = {}; // field name -> its input or select
  // The words around the gate's texts, in the gate's language (the public gate config).
  const labels = config.labels;
  form.appendChild(element("h2", { id: "t", text: config.title }));
  config.fields.forEach((field) => {
    const id = "f-" + field.name;
    const input = fieldInput(field, id, labels);
    const label = element("label", {
      for: id,
      text: field.label + (field.required || field.type === "checkbox" ? "" : " " + labels.optional),
    });
    inputs[field.name] = input;
    form.appendChild(
      field.type === "checkbox"
        ? element("div", { class: "f c" }, [input, label])
        : element("div", { class: "f" }, [label, input]),
    );
  });
  const honeypot = element("input", {
    name: "website",
    tabindex: "-1",
    autocomplete: "off",
    id: "f-w",
  });
  form.appendChild(
    element("div", { class: "hp", "aria-hidden": "true" }, [
      element("label", { for: "f-w", text: labels.leave_empty }),
      honeypot,
    ]),
  );
  const submitButton = element("button", {
    type: "submit",
    "aria-describedby": "n",
    text: config.submit_label,
  });
  form.appendChild(submitButton);
  form.appendChild(element("p", { class: "n", id: "n", text: config.consent_text }));
  form.appendChild(status);
  root.appendChild(form);

  // Each message next to its field (announced through aria-describedby), the first such
  // field focused; errors about no field go to the status line.
  const showErrors = (errors) => {
    let firstInvalid = null;
    let summary = "";
    const unattached = [];
    [].forEach.call(form.querySelectorAll(".e"), (message) => {
      message.remove();
    });
    for (const name in inputs) {
      inputs[name].removeAttribute("aria-invalid");
      inputs[name].removeAttribute("aria-describedby");
    }
    for (const name in errors) {
      const input = inputs[name === "answers" ? Object.keys(inputs).pop() : name];
      const reported = errors[name];
      // Per-question errors come nested: {"answers": {"q": ["..."]}}.
      const message = []
        .concat(
          typeof reported == "object" && !reported.join ? Object.values(reported) : reported,
        )
        .join(" ");
      if (!input) {
        unattached.push(message);
        continue;
      }
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", "e-" + input.name);
      input.parentNode.appendChild(
        element("p", { class: "e", id: "e-" + input.name, text: message }),
      );
      if (!firstInvalid) {
        firstInvalid = input;
        summary = labels.check_form + " " + message;
      }
    }
    status.textContent = unattached.join(" ") || summary;
    if (firstInvalid) firstInvalid.focus();
  };

  const showThanks = (answer) => {
    root.removeChild(form);
    root.appendChild(
      element("p", { class: "s", role: "status" }, [
        document.createTextNode(labels.thanks + " "),
        element("a", { href: answer.content_url, target: "_top", text: labels.open }),
        // A double opt-in counts once confirmed from the email: say so, as the hosted page does.
        document.createTextNode(
          config.double_opt_in && inputs.subscribe && inputs.subscribe.checked
            ? " " + labels.confirm
            : "",
        ),
      ]),
    );
  };

  const query = new URLSearchParams(location.search);
  // retried: already sent once with a fresh form token after an expired one.
  const send = (retried) => {
    const submission = {
      name: inputs.name.value.trim(),
      email: inputs.email.value.trim(),
      subscribe: !!(inputs.subscribe && inputs.subscribe.checked),
      visitor_id: context.visitorId,
      website: honeypot.value,
      form_token: config.form_token,
      referrer: document.referrer.slice(0, 2000),
      page_url: reportedPageUrl(),
      answers: {},
    };
    UTM_PARAMETERS.forEach((parameter) => {
      submission[parameter] = (query.get(parameter) || "").slice(0, 200);
    });
    config.fields.forEach((field) => {
      if (ANSWERED_ELSEWHERE.indexOf(field.name) < 0 && inputs[field.name].value) {
        submission.answers[field.name] = inputs[field.name].value;
      }
    });
    submitButton.disabled = true;
    fetch(context.apiBase + "gates/" + slug + "/submissions", {
      method: "POST",
      credentials: "omit",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(submission),
    })
      .then((response) =>
        response
          .json()
          .catch(() => ({}))
          .then(
            guarded((answer) => {
              submitButton.disabled = false;
              if (response.status === 201) {
                // Identified: the notice by the submit button now covers tracking.
                context.identified = true;
                localValue(IDENTIFIED_KEY, "1");
                rememberVisitor(context);
                showThanks(answer);
                tracker.startTracking();
                box.dispatchEvent(
                  new CustomEvent("leadgate:submitted", {
                    bubbles: true,
                    detail: { lead_id: answer.lead_id, content_url: answer.content_url },
                  }),
                );
              } else if (
                response.status === 400 &&
                answer.errors &&
                answer.errors.form_token &&
                !retried
              ) {
                // The form token expired while the form was open: once more with a new one.
                fetchGateConfig(context, slug).then(
                  guarded((freshConfig) => {
                    config.form_token = freshConfig.form_token;
                    send(true);
                  }),
                  guarded(() => {
                    showErrors(answer.errors);
                  }),
                );
              } else if (response.status === 429) {
                showErrors({
                  __all__: labels.too_many.replace(
                    "{seconds}",
                    response.headers.get("Retry-After") || 60,
                  ),
                });
              } else {
                showErrors(answer.errors || { __all__: labels.failed });
              }
            }),
          ),
      )
      .catch(
        guarded(() => {
          submitButton.disabled = false;
          showErrors({ __all__: labels.unreachable });
        }),
      );
  };

  form.addEventListener(
    "submit",
    guarded((submitEvent) => {
      submitEvent.preventDefault();
      const errors = {};
      if (!inputs.name.value.trim()) errors.name = labels.name_required;
      if (!EMAIL_SHAPE.test(inputs.email.value.trim())) {
        errors.email = labels.email_invalid;
      }
      Object.keys(errors).length ? showErrors(errors) : send();
    }),
  );
};
