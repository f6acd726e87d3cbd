/* Drawn signature for the inspection form: a <canvas> that takes a finger, a pen or a mouse
   (pointer events, with touch and mouse events for old phones) and keeps the drawing as a PNG
   data URL in the hidden `signature_drawn` field, which the form saves like any other field.
   Without a script the pad stays hidden and the typed signature is used. */
(function () {
  "use strict";

  function setup(pad) {
    var form = pad.closest("form");
    var canvas = pad.querySelector("canvas");
    var field = form.querySelector('input[name="signature_drawn"]');
    var clear = pad.querySelector("[data-signature-clear]");
    if (!canvas || !field || !canvas.getContext) return;
    var ctx = canvas.getContext("2d");
    var drawing = false;
    var last = null;
    pad.hidden = false;

    function ratio() {
      return window.devicePixelRatio || 1;
    }

    function pen() {
      ctx.setTransform(ratio(), 0, 0, ratio(), 0, 0);
      ctx.lineWidth = 2.5;
      ctx.lineCap = "round";
      ctx.lineJoin = "round";
      ctx.strokeStyle = "#111";
      ctx.fillStyle = "#111";
    }

    function load(url) {
      var rect = canvas.getBoundingClientRect();
      ctx.clearRect(0, 0, rect.width, rect.height);
      if (!url) return;
      var image = new Image();
      image.onload = function () {
        ctx.drawImage(image, 0, 0, rect.width, rect.height);
      };
      image.src = url;
    }

    // The canvas is sized when it becomes visible (it sits in a step that starts hidden);
    // resizing wipes its pixels, so the stored drawing is painted back.
    function fit() {
      var rect = canvas.getBoundingClientRect();
      if (!rect.width) return;
      var width = Math.round(rect.width * ratio());
      var height = Math.round(rect.height * ratio());
      if (canvas.width === width && canvas.height === height) return;
      canvas.width = width;
      canvas.height = height;
      pen();
      load(field.value);
    }

    function store() {
      field.value = canvas.toDataURL("image/png");
      field.dispatchEvent(new Event("change", { bubbles: true }));
    }

    function at(event) {
      var rect = canvas.getBoundingClientRect();
      var source = event.touches ? event.touches[0] || event.changedTouches[0] : event;
      return { x: source.clientX - rect.left, y: source.clientY - rect.top };
    }

    function start(event) {
      fit();
      drawing = true;
      last = at(event);
      ctx.beginPath();
      ctx.arc(last.x, last.y, 1.2, 0, 2 * Math.PI);
      ctx.fill();
      if (event.pointerId !== undefined && canvas.setPointerCapture) {
        canvas.setPointerCapture(event.pointerId);
      }
      event.preventDefault();
    }

    function move(event) {
      if (!drawing) return;
      var point = at(event);
      ctx.beginPath();
      ctx.moveTo(last.x, last.y);
      ctx.lineTo(point.x, point.y);
      ctx.stroke();
      last = point;
      event.preventDefault();
    }

    function end() {
      if (!drawing) return;
      drawing = false;
      store();
    }

    if (window.PointerEvent) {
      canvas.addEventListener("pointerdown", start);
      canvas.addEventListener("pointermove", move);
      canvas.addEventListener("pointerup", end);
      canvas.addEventListener("pointercancel", end);
    } else {
      canvas.addEventListener("touchstart", start, { passive: false });
      canvas.addEventListener("touchmove", move, { passive: false });
      canvas.addEventListener("touchend", end);
      canvas.addEventListener("mousedown", start);
      canvas.addEventListener("mousemove", move);
      window.addEventListener("mouseup", end);
    }

    if (clear) {
      clear.addEventListener("click", function () {
        field.value = "";
        load("");
        field.dispatchEvent(new Event("change", { bubbles: true }));
      });
    }

    // The form's script restored a draft kept on the phone: show its drawing.
    form.addEventListener("weibao:restored", function () {
      fit();
      load(field.value);
    });
    form.addEventListener("weibao:step", fit);
    window.addEventListener("resize", fit);
    if (window.ResizeObserver) new ResizeObserver(fit).observe(canvas);
    fit();
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-signature]"), setup);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
