// element("p", { class: "e", text: "..." }, [children]): "text" sets textContent (never
// HTML: what leadgate sends is shown as text), every other key is an attribute.
export const element = (tag, properties, children) => {
  const node = document.createElement(tag);
  for (const name in properties) {
    if (name === "text") node.textContent = properties[name];
    else node.setAttribute(name, properties[name]);
  }
  (children || []).forEach((child) => {
    node.appendChild(child);
  });
  return node;
};
