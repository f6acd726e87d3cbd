/* The inspection form on a phone in a magazine yard, where the connection comes and goes.

   Without this script the page is one long form that posts to the server. With it:
   - one checklist item per screen, with previous/next and a progress line;
   - every change is kept on the phone at once: the fields in localStorage
     ("weibao:inspection:<id>"), photos as Blobs in IndexedDB ("weibao-inspections"/"photos");
   - on load, unsaved changes kept on the phone are put back into the form (with a notice);
   - "Save draft", the `online` event and loading the page while online send the form to the
     server (the same view the form posts to, answering JSON) and upload the queued photos one
     by one; what the server accepted is then removed from the phone;
   - offline, or when the server cannot be reached, everything stays on the phone and the status
     line says so. Submitting needs a connection: it syncs first, then posts the form.
   Also: a confirmation dialog for forms marked data-confirm (the spot-check draw). */
(function () {
  "use strict";

  var DRAFT = "weibao:inspection:";
  var STEP = "weibao:inspection-step:";

  function fmt(text, params) {
    return String(text).replace(/%\((\w+)\)s/g, function (all, name) {
      return params && name in params ? params[name] : all;
    });
  }

  function storage(fn) {
    try {
      return fn();
    } catch (error) {
      return null; // private mode or quota: the form still works, just without the local copy
    }
  }

  // --- photos kept on the phone until they are uploaded (IndexedDB) ------------------------
  var photos = (function () {
    var opened = null;

    function open() {
      if (!window.indexedDB) return Promise.reject(new Error("no IndexedDB"));
      if (!opened) {
        opened = new Promise(function (resolve, reject) {
          var request = window.indexedDB.open("weibao-inspections", 1);
          request.onupgradeneeded = function () {
            var store = request.result.createObjectStore("photos", {
              keyPath: "id",
              autoIncrement: true,
            });
            store.createIndex("inspection", "inspection");
          };
          request.onsuccess = function () {
            resolve(request.result);
          };
          request.onerror = function () {
            reject(request.error);
          };
        });
      }
      return opened;
    }

    function run(mode, work) {
      return open().then(function (db) {
        return new Promise(function (resolve, reject) {
          var tx = db.transaction("photos", mode);
          var request = work(tx.objectStore("photos"));
          tx.oncomplete = function () {
            resolve(request.result);
          };
          tx.onerror = tx.onabort = function () {
            reject(tx.error);
          };
        });
      });
    }

    function list(inspection) {
      return run("readonly", function (store) {
        return store.index("inspection").getAll(String(inspection));
      });
    }

    function remove(key) {
      return run("readwrite", function (store) {
        return store.delete(key);
      });
    }

    return {
      add: function (record) {
        return run("readwrite", function (store) {
          return store.add(record);
        });
      },
      list: list,
      remove: remove,
      clear: function (inspection) {
        return list(inspection).then(function (rows) {
          return Promise.all(
            rows.map(function (row) {
              return remove(row.id);
            })
          );
        });
      },
    };
  })();

  function forget(id) {
    storage(function () {
      localStorage.removeItem(DRAFT + id);
      sessionStorage.removeItem(STEP + id);
    });
    photos.clear(id).catch(function () {});
  }

  // --- a final action asks first (the spot-check draw) --------------------------------------
  document.addEventListener("submit", function (event) {
    var target = event.target;
    if (!target.dataset || !target.dataset.confirm) return;
    if (!window.confirm(target.dataset.confirm)) {
      event.preventDefault();
      return;
    }
    var flag = target.querySelector('input[name="confirmed"]');
    if (flag) flag.value = "1";
  });

  var form = document.getElementById("inspection-form");
  if (!form) {
    // A submitted record is locked: whatever this phone still kept for it is of no use now.
    var done = document.querySelector("[data-submitted-inspection]");
    if (done) forget(done.getAttribute("data-submitted-inspection"));
    return;
  }

  var id = form.dataset.inspection;
  var strings = JSON.parse(document.getElementById("inspection-strings").textContent);
  var statusLine = form.querySelector('[data-testid="sync-status"]');
  var notice = form.querySelector('[data-testid="draft-notice"]');
  var steps = Array.prototype.slice.call(form.querySelectorAll(".step"));
  var cards = steps.filter(function (step) {
    return step.classList.contains("item-card");
  });
  var prev = form.querySelector("[data-prev]");
  var next = form.querySelector("[data-next]");
  var progress = form.querySelector("[data-progress]");
  var current = 0;
  var fallbackFiles = false; // IndexedDB refused: photos travel in the form itself
  var lastSubmitter = null;
  var syncing = null;
  var pendingWrite = null;
  var sentSignature = ""; // the drawn signature the server already has (not sent twice)

  function setStatus(state, text) {
    statusLine.className = "sync-status " + state;
    statusLine.setAttribute("data-state", state);
    statusLine.textContent = text;
  }

  function clock() {
    var now = new Date();
    return ("0" + now.getHours()).slice(-2) + ":" + ("0" + now.getMinutes()).slice(-2);
  }

  // --- the draft in localStorage -----------------------------------------------------------
  function readDraft() {
    return storage(function () {
      return JSON.parse(localStorage.getItem(DRAFT + id));
    });
  }

  function writeDraft(draft) {
    return storage(function () {
      localStorage.setItem(DRAFT + id, JSON.stringify(draft));
      return true;
    });
  }

  function dropDraft() {
    storage(function () {
      localStorage.removeItem(DRAFT + id);
    });
  }

  function skipped(element) {
    return (
      !element.name ||
      element.name === "csrfmiddlewaretoken" ||
      element.name === "action" ||
      /^(file|submit|button|reset)$/.test(element.type)
    );
  }

  function collect() {
    var values = {};
    Array.prototype.forEach.call(form.elements, function (element) {
      if (skipped(element)) return;
      if (element.type === "radio") {
        if (element.checked) values[element.name] = element.value;
        else if (!(element.name in values)) values[element.name] = "";
      } else if (element.type === "checkbox") {
        values[element.name] = values[element.name] || [];
        if (element.checked) values[element.name].push(element.value);
      } else {
        values[element.name] = element.value;
      }
    });
    return values;
  }

  function apply(values) {
    Array.prototype.forEach.call(form.elements, function (element) {
      if (skipped(element) || !(element.name in values)) return;
      var value = values[element.name];
      if (element.type === "radio") element.checked = element.value === value;
      else if (element.type === "checkbox") {
        element.checked = Array.isArray(value) && value.indexOf(element.value) >= 0;
      } else element.value = value;
    });
  }

  function remember(quiet) {
    clearTimeout(pendingWrite);
    pendingWrite = null;
    var draft = readDraft() || { base: form.dataset.version };
    draft.fields = collect();
    draft.changedAt = Date.now();
    draft.dirty = true;
    if (!writeDraft(draft)) setStatus("error", strings.sync_failed);
    else if (!navigator.onLine && quiet !== true) showLocal();
    refresh();
  }

  function rememberSoon() {
    clearTimeout(pendingWrite);
    pendingWrite = setTimeout(remember, 400);
  }

  // --- steps, one item per screen ----------------------------------------------------------
  function refresh() {
    var answered = 0;
    cards.forEach(function (card) {
      var checked = card.querySelector('input[type="radio"]:checked');
      var result = checked ? checked.value : "none";
      if (checked) answered += 1;
      Array.prototype.slice.call(card.classList).forEach(function (name) {
        if (name.indexOf("result-") === 0) card.classList.remove(name);
      });
      card.classList.add("result-" + result);
    });
    var total = cards.length;
    form.querySelector("[data-answered]").textContent = fmt(strings.answered, {
      done: answered,
      total: total,
    });
    form.querySelector("[data-meter]").style.width =
      (total ? Math.round((100 * answered) / total) : 100) + "%";
    form.querySelector('[data-testid="progress"]').textContent =
      current < total ? fmt(strings.item, { n: current + 1, total: total }) : strings.final;
  }

  function show(index, scroll) {
    current = Math.max(0, Math.min(steps.length - 1, index));
    steps.forEach(function (step, n) {
      step.classList.toggle("current", n === current);
    });
    prev.disabled = current === 0;
    next.disabled = current === steps.length - 1;
    storage(function () {
      sessionStorage.setItem(STEP + id, String(current));
    });
    refresh();
    form.dispatchEvent(new CustomEvent("weibao:step"));
    if (scroll) progress.scrollIntoView({ block: "start" });
  }

  function stepOf(element) {
    for (var n = 0; n < steps.length; n += 1) if (steps[n].contains(element)) return n;
    return -1;
  }

  function firstStep() {
    var flagged = form.querySelector(".step.has-error, .step .error");
    if (flagged) return stepOf(flagged);
    var target = location.hash && document.getElementById(location.hash.slice(1));
    if (target && stepOf(target) >= 0) return stepOf(target);
    var kept = storage(function () {
      return sessionStorage.getItem(STEP + id);
    });
    return kept ? parseInt(kept, 10) || 0 : 0;
  }

  // --- photos ------------------------------------------------------------------------------
  function cardFor(item) {
    return form.querySelector('.item-card[data-item="' + item + '"]');
  }

  function showQueued(record) {
    var card = cardFor(record.item);
    if (!card) return;
    var box = document.createElement("span");
    box.className = "queued";
    box.setAttribute("data-key", record.id);
    var image = document.createElement("img");
    image.src = URL.createObjectURL(record.blob);
    image.alt = "";
    var label = document.createElement("span");
    label.textContent = strings.queued;
    box.appendChild(image);
    box.appendChild(label);
    card.querySelector("[data-thumbs]").appendChild(box);
  }

  function markPhoto(key, state, text) {
    var box = form.querySelector('.queued[data-key="' + key + '"]');
    if (!box) return;
    box.classList.add(state);
    box.lastChild.textContent = text;
    if (state === "rejected") box.title = text;
  }

  // Phone cameras make photos of several megabytes: send them at most 2000 px wide, as JPEG.
  function shrink(file) {
    if (!window.createImageBitmap || !HTMLCanvasElement.prototype.toBlob) {
      return Promise.resolve(file);
    }
    return createImageBitmap(file, { imageOrientation: "from-image" })
      .then(function (bitmap) {
        var scale = Math.min(1, 2000 / Math.max(bitmap.width, bitmap.height));
        if (scale === 1 && file.size < 1500000 && /jpe?g|png/.test(file.type)) return file;
        var canvas = document.createElement("canvas");
        canvas.width = Math.round(bitmap.width * scale);
        canvas.height = Math.round(bitmap.height * scale);
        canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
        return new Promise(function (resolve) {
          canvas.toBlob(
            function (blob) {
              resolve(blob || file);
            },
            "image/jpeg",
            0.85
          );
        });
      })
      .catch(function () {
        return file;
      });
  }

  function queuePhotos(input) {
    var card = input.closest(".item-card");
    var files = Array.prototype.slice.call(input.files || []);
    if (!card || !files.length || fallbackFiles) return;
    var chain = Promise.resolve();
    files.forEach(function (file) {
      chain = chain
        .then(function () {
          return shrink(file);
        })
        .then(function (blob) {
          var record = {
            inspection: String(id),
            item: card.dataset.item,
            blob: blob,
            name: blob === file ? file.name || "photo.jpg" : "photo.jpg",
            added: Date.now(),
          };
          return photos.add(record).then(function (key) {
            record.id = key;
            showQueued(record);
          });
        });
    });
    chain
      .then(function () {
        input.value = "";
        if (navigator.onLine) sync();
        else showLocal();
      })
      .catch(function () {
        fallbackFiles = true; // the photo stays in the form and goes with the next save
      });
  }

  function csrf() {
    return form.querySelector('input[name="csrfmiddlewaretoken"]').value;
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      redirect: "manual", // an expired session answers with a redirect to the sign-in page
      headers: { Accept: "application/json", "X-CSRFToken": csrf() },
    });
  }

  function signedOut(response) {
    return response.type === "opaqueredirect" || response.status === 401 || response.status === 403;
  }

  function json(response) {
    return response.json().catch(function () {
      return {};
    });
  }

  function messages(errors) {
    if (!errors) return "";
    if (Array.isArray(errors)) return errors.join(" ");
    return Object.keys(errors)
      .map(function (key) {
        return [].concat(errors[key]).join(" ");
      })
      .join(" ");
  }

  function markErrors(errors) {
    Object.keys(errors || {}).forEach(function (key) {
      var match = /^(?:result|note|deadline|photo)-(\d+)$/.exec(key);
      var card = match && cardFor(match[1]);
      if (card) card.classList.add("has-error");
    });
  }

  function queuedCount() {
    return photos
      .list(id)
      .then(function (rows) {
        return rows.length;
      })
      .catch(function () {
        return 0;
      });
  }

  function showLocal() {
    queuedCount().then(function (count) {
      setStatus("local", count ? fmt(strings.local_photos, { count: count }) : strings.local);
    });
  }

  // --- sync: the draft, then the photos ------------------------------------------------------
  // Resolves to "ok", "offline" (kept on the phone, retried later) or "stopped" (the server
  // refused: sign in again, fix an answer, or the record is locked).
  function sendDraft() {
    var draft = readDraft();
    if (!draft || !draft.dirty) return Promise.resolve("ok");
    var stamp = draft.changedAt;
    var body = new FormData(form);
    Array.prototype.forEach.call(form.querySelectorAll('input[type="file"]'), function (input) {
      if (!fallbackFiles) body.delete(input.name);
    });
    body.set("action", "save");
    var signature = body.get("signature_drawn") || "";
    if (signature === sentSignature) body.delete("signature_drawn");
    setStatus("pending", strings.saving);
    return post(form.getAttribute("action"), body).then(
      function (response) {
        if (signedOut(response)) {
          setStatus("error", strings.signin);
          return "stopped";
        }
        if (response.status === 409) {
          forget(id);
          setStatus("error", strings.locked);
          return "stopped";
        }
        if (response.status === 400) {
          return json(response).then(function (data) {
            markErrors(data.errors);
            setStatus("error", fmt(strings.invalid, { errors: messages(data.errors) }));
            return "stopped";
          });
        }
        if (!response.ok) return "offline";
        return json(response).then(function (data) {
          if (data.version) form.dataset.version = data.version;
          sentSignature = signature;
          if (fallbackFiles) {
            Array.prototype.forEach.call(form.querySelectorAll('input[type="file"]'), function (i) {
              i.value = "";
            });
          }
          var now = readDraft();
          if (now && now.changedAt === stamp) dropDraft();
          else if (now) {
            now.base = form.dataset.version; // changed while sending: still to send
            writeDraft(now);
          }
          return "ok";
        });
      },
      function () {
        return "offline";
      }
    );
  }

  function sendPhotos() {
    return photos.list(id).then(
      function (rows) {
        var chain = Promise.resolve("ok");
        rows.forEach(function (row) {
          chain = chain.then(function (state) {
            if (state !== "ok") return state;
            var body = new FormData();
            body.append("csrfmiddlewaretoken", csrf());
            body.append("item", row.item);
            body.append("file", row.blob, row.name);
            return post(form.dataset.photoUrl, body).then(
              function (response) {
                if (signedOut(response)) {
                  setStatus("error", strings.signin);
                  return "stopped";
                }
                if (response.status === 201) {
                  return photos.remove(row.id).then(function () {
                    markPhoto(row.id, "uploaded", strings.uploaded);
                    return "ok";
                  });
                }
                if (response.status === 400 || response.status === 409) {
                  // Never accepted however often it is sent (not a photo, too large, locked).
                  return json(response).then(function (data) {
                    var text = fmt(strings.photo_rejected, { errors: messages(data.errors) });
                    return photos.remove(row.id).then(function () {
                      markPhoto(row.id, "rejected", text);
                      return "ok";
                    });
                  });
                }
                return "offline";
              },
              function () {
                return "offline";
              }
            );
          });
        });
        return chain;
      },
      function () {
        return "ok"; // no IndexedDB: nothing queued here
      }
    );
  }

  function runSync() {
    if (!navigator.onLine) {
      showLocal();
      return Promise.resolve("offline");
    }
    return sendDraft()
      .then(function (state) {
        return state === "ok" ? sendPhotos() : state;
      })
      .then(function (state) {
        var draft = readDraft();
        if (state === "ok" && draft && draft.dirty) return runSync(); // typed while sending
        if (state === "ok") setStatus("ok", fmt(strings.saved, { time: clock() }));
        if (state === "offline") showLocal();
        return state;
      });
  }

  function sync() {
    if (pendingWrite) remember();
    if (!syncing) {
      syncing = runSync().then(
        function (state) {
          syncing = null;
          return state;
        },
        function () {
          syncing = null;
          showLocal();
          return "offline";
        }
      );
    }
    return syncing;
  }

  // --- wiring --------------------------------------------------------------------------------
  form.addEventListener("input", function (event) {
    if (event.target.type !== "file") rememberSoon();
  });
  form.addEventListener("change", function (event) {
    if (event.target.type === "file") queuePhotos(event.target);
    else if (!skipped(event.target)) remember(false);
  });
  form.addEventListener("click", function (event) {
    var button = event.target.closest('button[type="submit"]');
    if (button) lastSubmitter = button;
    var link = event.target.closest('a[href^="#"]');
    var target = link && document.getElementById(link.getAttribute("href").slice(1));
    if (target && stepOf(target) >= 0) {
      event.preventDefault(); // also when the same link is followed twice (no hashchange)
      show(stepOf(target), true);
    }
  });
  form.addEventListener("submit", function (event) {
    if (form.dataset.submitting === "1") return; // the real submission, after a sync
    event.preventDefault();
    var submitter = event.submitter || lastSubmitter;
    lastSubmitter = null;
    remember(true);
    if (!submitter || submitter.value !== "submit") {
      sync();
      return;
    }
    if (!navigator.onLine) {
      setStatus("local", strings.offline_submit);
      return;
    }
    sync().then(function (state) {
      if (state === "offline") setStatus("error", strings.sync_failed);
      if (state !== "ok") return;
      // Photos are up; the answers go once more with the submission, which locks the record.
      form.dataset.submitting = "1";
      var action = document.createElement("input");
      action.type = "hidden";
      action.name = "action";
      action.value = "submit";
      form.appendChild(action);
      Array.prototype.forEach.call(form.querySelectorAll('input[type="file"]'), function (i) {
        if (!fallbackFiles) i.disabled = true;
      });
      var drawn = form.querySelector('input[name="signature_drawn"]');
      if (drawn && drawn.value === sentSignature) drawn.disabled = true;
      dropDraft();
      form.submit();
    });
  });
  prev.addEventListener("click", function () {
    show(current - 1, true);
  });
  next.addEventListener("click", function () {
    show(current + 1, true);
  });
  window.addEventListener("hashchange", function () {
    var target = document.getElementById(location.hash.slice(1));
    if (target && stepOf(target) >= 0) show(stepOf(target), true);
  });
  window.addEventListener("online", function () {
    sync();
  });
  window.addEventListener("offline", showLocal);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden" && pendingWrite) remember();
  });
  window.addEventListener("pagehide", function () {
    if (pendingWrite) remember();
  });

  // --- start ---------------------------------------------------------------------------------
  form.classList.add("paged");
  prev.hidden = false;
  next.hidden = false;
  progress.hidden = false;

  var kept = readDraft();
  if (kept && kept.dirty && kept.fields) {
    apply(kept.fields);
    notice.textContent =
      kept.base === form.dataset.version ? strings.restored : strings.restored_conflict;
    notice.hidden = false;
    form.dispatchEvent(new CustomEvent("weibao:restored"));
  } else if (kept) {
    dropDraft();
  }
  show(firstStep(), false);

  photos
    .list(id)
    .then(function (rows) {
      rows.forEach(showQueued);
      return rows.length;
    })
    .catch(function () {
      fallbackFiles = true;
      return 0;
    })
    .then(function (queued) {
      var draft = readDraft();
      if ((draft && draft.dirty) || queued) {
        if (navigator.onLine) sync();
        else showLocal();
      }
    });
})();
