// Speaker labels on a diarized transcript: each speaker has a colour, and a display name this browser remembers
// (renaming is for display only: the stored result and its downloads keep SPEAKER_1, SPEAKER_2, …).
import { h } from "./ui.js";

const COLOURS = 6;
const storageKey = (id) => `whisperapi.speakers.${id}`;

/** The names this browser gave the speakers of transcription `id`, by label. */
function savedNames(id) {
  try {
    return JSON.parse(localStorage.getItem(storageKey(id))) || {};
  } catch {
    return {};
  }
}

/** The speakers of a result (labels in order of first appearance), with their colours and display names. */
export function speakerBook(id, speakers) {
  const names = savedNames(id);
  const order = (speakers || []).map((item) => item.speaker);
  return {
    has: order.length > 0,
    colour: (label) => `speaker-${Math.max(0, order.indexOf(label)) % COLOURS}`,
    name: (label) => names[label] || label,
    rename(label, name) {
      if (name.trim()) names[label] = name.trim();
      else delete names[label];
      localStorage.setItem(storageKey(id), JSON.stringify(names));
    },
  };
}

/** The chip in front of a segment's text. */
export function speakerChip(book, label) {
  return h("span", { class: `speaker ${book.colour(label)}`, "data-speaker": label }, book.name(label));
}

/** A form listing the speakers with their speaking time; renaming one relabels its chips at once. */
export function speakerPanel(book, speakers, root) {
  const rows = speakers.map((item, index) => {
    const input = h("input", { id: `speaker-name-${index}`, type: "text", value: book.name(item.speaker), maxlength: "64", autocomplete: "off" });
    input.addEventListener("change", () => {
      book.rename(item.speaker, input.value);
      input.value = book.name(item.speaker);
      for (const chip of root.querySelectorAll(`.speaker[data-speaker="${CSS.escape(item.speaker)}"]`)) chip.textContent = book.name(item.speaker);
    });
    return h(
      "div", { class: "field speaker-row" },
      h("span", { class: `swatch ${book.colour(item.speaker)}`, "aria-hidden": "true" }),
      h("label", { for: `speaker-name-${index}` }, `${item.speaker} (${Math.round(item.speaking_time)} s)`),
      input,
    );
  });
  return h("fieldset", { class: "speakers", id: "speaker-names" }, h("legend", {}, "Speakers (rename for display)"), rows);
}
