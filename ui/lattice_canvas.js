// Draws an Ising lattice on a <canvas>, one pixel per spin, from bit-packed spins.
//
// A frame is {length, spins, caption, frame, made_ms, sequence}: length is the side L; spins is
// base64 of ceil(L*L / 8) bytes where spin k (row-major) is bit 7 - k % 8 of byte floor(k / 8),
// 1 for spin +1 (numpy.packbits order); caption is shown under the lattice; frame is a number,
// set as the canvas's data-frame attribute (made_ms, the server's clock when it was made, as
// data-made, and the page's clock when it reached this code as data-arrived). Frames arrive
// two ways (lattice_canvas.py says why):
// - as this component's data, each time Python mounts it with new data;
// - while data.channel is set, pulled from the server one at a time: GET
//   data.frames_path + channel + "?after=" + the last frame's sequence number waits for a newer
//   one (ui/frames.py), which is drawn and painted before the next one is asked for.
// On a channel, sequence numbers order the frames: one no newer than the frame shown (a
// re-mount with the data the canvas started from) is not drawn.
// data also holds colours ([r, g, b] of spin -1, [r, g, b] of spin +1) and width (CSS pixels,
// or null for the container's width; the canvas is scaled up without smoothing), and sliders
// ([{name, label, minimum, maximum, step, value, disabled}], drawn above the canvas): moving
// one posts {name: value} to the channel's controls (POST ... + "/controls"), at most one
// request in flight and the newest value sent next; no Streamlit rerun (ui/frames.py says why).

// What one canvas keeps between calls (this function runs again whenever data changes).
const views = new WeakMap(); // canvas -> its state (see `view`)

function view(parentElement) {
  const canvas = parentElement.querySelector("canvas");
  let state = views.get(canvas);
  if (state === undefined) {
    state = {
      canvas,
      context: canvas.getContext("2d"),
      image: null,
      label: parentElement.querySelector(".caption"),
      channel: null,
      shown: 0, // sequence number of the frame shown, on this channel
      puller: null, // token of the running pull loop (null: none)
      sliders: parentElement.querySelector(".sliders"),
      url: null, // of the channel's controls
      posting: false, // a controls request is in flight
      unsent: {}, // values moved since it was sent
    };
    views.set(canvas, state);
  }
  return state;
}

function draw(state, frame, colours) {
  const arrived = performance.now();
  const length = Number(frame.length);
  if (state.image === null || state.image.width !== length) {
    state.canvas.width = length;
    state.canvas.height = length;
    state.image = state.context.createImageData(length, length);
  }
  // One 32-bit RGBA word per pixel; ImageData is little-endian ABGR in memory.
  const words = new Uint32Array(state.image.data.buffer);
  const [down, up] = colours.map(([r, g, b]) => ((255 << 24) | (b << 16) | (g << 8) | r) >>> 0);
  const packed = Uint8Array.from(atob(frame.spins), (c) => c.charCodeAt(0));
  for (let k = 0; k < length * length; k++) {
    words[k] = (packed[k >> 3] >> (7 - (k & 7))) & 1 ? up : down;
  }
  state.context.putImageData(state.image, 0, 0);
  state.canvas.dataset.frame = frame.frame;
  state.canvas.dataset.made = frame.made_ms;
  state.canvas.dataset.arrived = arrived;
  state.label.textContent = frame.caption;
}

// Draws `frame` unless the canvas shows a newer one of its channel.
function show(state, frame, colours) {
  if (state.channel !== null && frame.sequence <= state.shown) return;
  state.shown = frame.sequence;
  draw(state, frame, colours);
}

// The sliders of data.sliders: made once each (a person may be dragging one), then only
// enabled or disabled.
function sliders(state, specs) {
  for (const spec of specs ?? []) {
    let input = state.sliders.querySelector(`input[name="${spec.name}"]`);
    if (input === null) {
      const label = document.createElement("label");
      input = document.createElement("input");
      Object.assign(input, { type: "range", name: spec.name, min: spec.minimum });
      Object.assign(input, { max: spec.maximum, step: spec.step, value: spec.value });
      input.setAttribute("aria-label", spec.label);
      const text = document.createElement("span");
      const say = () => (text.textContent = `${spec.label} = ${Number(input.value).toFixed(2)}`);
      input.addEventListener("input", () => {
        say();
        state.unsent[spec.name] = Number(input.value);
        post(state);
      });
      say();
      label.append(text, input);
      state.sliders.append(label);
    }
    input.disabled = spec.disabled;
    input.title = spec.disabled ? "Press Run to change it" : "";
  }
}

// Sends the values moved since the last request, one request at a time.
async function post(state) {
  if (state.posting || state.url === null || Object.keys(state.unsent).length === 0) return;
  const values = state.unsent;
  state.unsent = {};
  state.posting = true;
  try {
    await fetch(state.url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(values),
    });
  } catch {
    // the server is restarting: the next move sends again
  } finally {
    state.posting = false;
  }
  post(state);
}

const painted = () => new Promise((resolve) => requestAnimationFrame(() => resolve()));
const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Draws the channel's frames until the canvas is unmounted or mounted with another channel
// (state.puller is no longer this loop's token), or the server says the channel is gone (404).
async function pull(state, data, token) {
  const url = new URL(data.frames_path + encodeURIComponent(data.channel), window.location.href);
  while (state.puller === token) {
    url.searchParams.set("after", state.shown);
    let response;
    try {
      response = await fetch(url, { cache: "no-store" });
    } catch {
      await pause(1000); // the server is restarting or the network dropped: try again
      continue;
    }
    if (response.status === 204) continue; // nothing new within the server's wait
    if (!response.ok) break;
    const frame = await response.json();
    if (state.channel !== data.channel) break;
    show(state, frame, data.colours); // taken from the server: draw it even if this loop ends
    if (state.puller !== token) break;
    await painted(); // shown before the next is asked for: a slow page is sent fewer
  }
  if (state.puller === token) state.puller = null;
}

export default function ({ data, parentElement }) {
  const state = view(parentElement);
  state.canvas.style.width = data.width === null ? "100%" : `${data.width}px`;
  state.sliders.style.maxWidth = state.canvas.style.width;
  if (data.channel !== state.channel) {
    state.channel = data.channel;
    state.shown = 0;
    state.puller = null;
    const path = data.frames_path + encodeURIComponent(data.channel) + "/controls";
    state.url = data.channel === null ? null : new URL(path, window.location.href);
  }
  sliders(state, data.sliders);
  show(state, data, data.colours);
  if (data.channel !== null && state.puller === null) {
    state.puller = {};
    pull(state, data, state.puller);
  }
  return () => {
    state.puller = null; // unmounted: the loop ends after its current request
  };
}
