import { guarded } from "./guard.js";

// A section counts as read once it has been visible (see isVisible) for the gate's
// minimum dwell time, in one go or in several; it is reported once, with the time.
export const watchSections = (context, track) => {
  const elements = document.querySelectorAll("[data-leadgate-section]");
  const sections = [];
  if (!elements.length || !window.IntersectionObserver) return;
  const sectionOf = new Map(); // element -> its section's state
  const now = () => performance.now();

  const pause = (section) => {
    if (section.visibleSince) section.visibleMs += now() - section.visibleSince;
    section.visibleSince = 0;
    clearTimeout(section.timer);
  };
  const checkDwell = guarded((section) => {
    pause(section);
    if (section.reported) return;
    if (section.visibleMs >= context.minDwellMs) {
      section.reported = true;
      observer.unobserve(section.element);
      const event = { section: section.key, duration_ms: Math.round(section.visibleMs) };
      // A page of a PDF read inline: a section of that file (forms_app/reader.py).
      const file = section.element.closest("[data-leadgate-file]");
      if (file) event.file = file.getAttribute("data-leadgate-file");
      track("section_view", event);
    } else {
      resume(section);
    }
  });
  const resume = (section) => {
    if (section.reported || section.visibleSince || !section.visible || document.hidden) return;
    section.visibleSince = now();
    section.timer = setTimeout(
      () => {
        checkDwell(section);
      },
      context.minDwellMs - section.visibleMs + 30,
    );
  };
  const observer = new IntersectionObserver(
    guarded((entries) => {
      entries.forEach((entry) => {
        const section = sectionOf.get(entry.target);
        const viewport = entry.rootBounds;
        // Half visible, or (taller than the window) filling half of it.
        section.visible =
          entry.isIntersecting &&
          (entry.intersectionRatio >= 0.5 ||
            (viewport && entry.intersectionRect.height >= viewport.height / 2));
        section.visible ? resume(section) : pause(section);
      });
    }),
    { threshold: [0, 0.25, 0.5, 0.75, 1] },
  );
  [].forEach.call(elements, (element) => {
    const section = {
      element,
      key: element.getAttribute("data-leadgate-section"),
      visibleMs: 0,
      visibleSince: 0,
    };
    sectionOf.set(element, section);
    sections.push(section);
    observer.observe(element);
  });
  document.addEventListener(
    "visibilitychange",
    guarded(() => {
      sections.forEach((section) => {
        document.hidden ? pause(section) : resume(section);
      });
    }),
  );
};

export const watchDownloads = (track) => {
  document.addEventListener(
    "click",
    guarded((click) => {
      const link = click.target.closest("[data-leadgate-download]");
      if (link) track("download", { file: link.getAttribute("data-leadgate-download") });
    }),
    true, // capture: a page's own handler that stops the click does not hide it
  );
};
