// Draws an Ising lattice on a <canvas>, one pixel per spin, from bit-packed spins.
//
// A frame is {rows, columns, count, spins, caption, frame, made_ms, sequence}: the canvas has
// rows x columns cells, the first count of them spins (row-major; the rest drawn empty); spins
// is base64 of ceil(count / 8) bytes where spin k is bit 7 - k % 8 of byte floor(k / 8), 1 for
// spin +1 (numpy.packbits order); caption is shown under the lattice; frame is a number,
// set as the canvas's data-frame attribute (made_ms, the server's clock when it was made, as
// data-made, and the page's clock when it reached this code as data-arrived). Frames arrive
// two ways (lattice_canvas.py says why):
// - as this component's data, each time Python mounts it with new data;
// - while data.channel is set, one at a time from the channel's WebSocket (ui/frames.py,
//   data.frames_path + channel): the canvas sends {"after": N}, N the sequence number of the
//   frame it shows, and the server answers with the first newer frame, which is drawn and
//   painted before the next one is asked for. A socket that drops (the server restarting) is
//   opened again a second later; one closed with code 4404 (the channel has ended) or 1008
//   (refused) is not.
// On a channel, sequence numbers order the frames: one no newer than the frame shown (a
// re-mount with the data the canvas started from) is not drawn.
// data also holds colours ([r, g, b] of spin -1, [r, g, b] of spin +1) and width (CSS pixels,
// or null for the container's width; the canvas is scaled up without smoothing), and sliders
// ([{name, label, minimum, maximum, step, value, disabled}], drawn above the canvas): moving
// one sends {"controls": {name: value}} on the socket (values moved while it is not open go
// when it opens); no Streamlit rerun (ui/frames.py says why).

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
      socket: null, // the channel's WebSocket (null: none, or waiting to open it again)
      sliders: parentElement.querySelector(".sliders"),
      unsent: {}, // slider values moved and not yet sent
    };
    views.set(canvas, state);
  }
  return state;
}

function draw(state, frame, colours) {
  const arrived = performance.now();
  const [rows, columns, count] = [frame.rows, frame.columns, frame.count].map(Number);
  if (state.image === null || state.image.width !== columns || state.image.height !== rows) {
    state.canvas.width = columns;
    state.canvas.height = rows;
    state.image = state.context.createImageData(columns, rows);
  }
  // One 32-bit RGBA word per pixel; ImageData is little-endian ABGR in memory.
  const words = new Uint32Array(state.image.data.buffer);
  const [down, up] = colours.map(([r, g, b]) => ((255 << 24) | (b << 16) | (g << 8) | r) >>> 0);
  const packed = Uint8Array.from(atob(frame.spins), (c) => c.charCodeAt(0));
  for (let k = 0; k < rows * columns; k++) {
    words[k] = k >= count ? 0 : (packed[k >> 3] >> (7 - (k & 7))) & 1 ? up : down; // 0: empty
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
        sendControls(state);
      });
      say();
      label.append(text, input);
      state.sliders.append(label);
    }
    input.disabled = spec.disabled;
    input.title = spec.disabled ? "Press Run to change it" : "";
  }
}

function send(state, message) {
  state.socket.send(JSON.stringify(message));
}

// Sends the slider values moved since the last call, once the socket is open.
function sendControls(state) {
  if (state.socket?.readyState !== WebSocket.OPEN || Object.keys(state.unsent).length === 0) {
    return;
  }
  send(state, { controls: state.unsent });
  state.unsent = {};
}

const painted = () => new Promise((resolve) => requestAnimationFrame(() => resolve()));
// The server's close codes that another try would meet again: the channel has ended, or the
// socket was refused (another site's page, or a message it does not take).
const FINAL = new Set([4404, 1008]);

// Opens the channel's socket and draws its frames until it is closed: by `stop` (unmounted,
// or mounted with another channel), or by the server (for good: FINAL; or dropped, as when
// the server restarts: then opened again a second later).
function connect(state, data) {
  const url = new URL(data.frames_path + encodeURIComponent(data.channel), window.location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  const socket = new WebSocket(url);
  state.socket = socket;
  socket.onopen = () => {
    send(state, { after: state.shown });
    sendControls(state);
  };
  socket.onmessage = async (event) => {
    if (state.socket !== socket) return; // stopped
    show(state, JSON.parse(event.data), data.colours);
    await painted(); // shown before the next is asked for: a slow page is sent fewer
    if (state.socket === socket && socket.readyState === WebSocket.OPEN) {
      send(state, { after: state.shown });
    }
  };
  socket.onclose = (event) => {
    if (state.socket !== socket) return; // stopped
    state.socket = null;
    if (FINAL.has(event.code)) return;
    setTimeout(() => {
      if (state.socket === null && state.channel === data.channel) connect(state, data);
    }, 1000);
  };
}

function stop(state) {
  const socket = state.socket;
  state.socket = null;
  socket?.close();
}

export default function ({ data, parentElement }) {
  const state = view(parentElement);
  state.canvas.style.width = data.width === null ? "100%" : `${data.width}px`;
  state.sliders.style.maxWidth = state.canvas.style.width;
  if (data.channel !== state.channel) {
    stop(state);
    state.channel = data.channel;
    state.shown = 0;
  }
  sliders(state, data.sliders);
  show(state, data, data.colours);
  if (data.channel !== null && state.socket === null) connect(state, data);
  return () => {
    // Streamlit calls this at unmount, and also at once for a call whose data was superseded
    // while it ran: close the socket only once the canvas has left the page.
    setTimeout(() => {
      if (!state.canvas.isConnected) stop(state);
    }, 0);
  };
}
