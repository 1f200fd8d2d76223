// Live chat widget for the portal and the dashboard. It turns
// <section id="chat" data-ws-url data-upload-url data-csrf data-me
// data-can-write data-label-*> into a chat over the WebSocket protocol in
// docs/chat-protocol.md. No framework and no build step. When the request's
// status changes, elements of the page marked data-chat-status and
// data-chat-notice get the labels data-label-status-<status> and
// data-label-notice-<status>. With data-translated-errors="true" (the
// portal), server errors show as translated labels and the server's
// English text goes only to the console.
(function () {
  "use strict";

  var root = document.getElementById("chat");
  if (!root) {
    return;
  }

  var MAX_BACKOFF_MS = 30000;
  var FIRST_BACKOFF_MS = 1000;
  // The server's limit on one frame (MAX_FRAME_BYTES in src/chat/session.rs).
  // A larger frame closes the socket with 1009, so it is never sent.
  var MAX_FRAME_BYTES = 64 * 1024;
  var CLOSE_POLICY = 1008;
  var CLOSE_TOO_BIG = 1009;
  var data = root.dataset;
  var me = data.me === "helper" ? "helper" : "client";
  var canWrite = data.canWrite === "true";
  var translatedErrors = data.translatedErrors === "true";
  var pendingKey = "sandesh-chat-pending:" + data.wsUrl;

  var defaults = {
    send: "Send",
    placeholder: "Write a message",
    message: "Message",
    attach: "Attach a file",
    older: "Show older messages",
    sent: "Sent",
    sending: "Sending…",
    delivered: "Delivered",
    read: "Read",
    failed: "Not sent",
    "too-long": "The message is too long to send.",
    me: "You",
    other: "",
    "read-only": "This chat is read-only.",
    connecting: "Connecting…",
    offline: "Connection lost; reconnecting…",
    "upload-failed": "The file could not be sent.",
    "upload-too-many": "Too many uploaded files were never sent in a message. Try again after a day.",
    rejected: "This message could not be sent.",
    error: "Something went wrong in the chat.",
    empty: "No messages yet.",
  };

  // Returns the translated label `name` from data-label-<name>.
  function label(name) {
    var value = root.getAttribute("data-label-" + name);
    return value !== null && value !== "" ? value : defaults[name] || "";
  }

  function addStylesheet() {
    if (document.querySelector('link[href^="/static/chat.css"]')) {
      return;
    }
    var link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = "/static/chat.css";
    document.head.appendChild(link);
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined && text !== null) {
      node.textContent = text;
    }
    return node;
  }

  function newClientId() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map
      .call(bytes, function (byte) {
        return (byte + 256).toString(16).slice(1);
      })
      .join("");
  }

  // Formats an RFC 3339 time as dd-mm-yyyy HH:MM in data-time-zone, or in
  // the browser's zone when the page sets none.
  function formatTime(value) {
    if (!value) {
      return "";
    }
    var date = new Date(value);
    var options = { day: "2-digit", month: "2-digit", year: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
    if (data.timeZone) {
      options.timeZone = data.timeZone;
    }
    var parts = {};
    try {
      new Intl.DateTimeFormat("en-GB", options).formatToParts(date).forEach(function (part) {
        parts[part.type] = part.value;
      });
    } catch (error) {
      return date.toISOString();
    }
    return parts.day + "-" + parts.month + "-" + parts.year + " " + parts.hour + ":" + parts.minute;
  }

  // Shows or hides a node. The inline style is needed as well as the
  // hidden attribute, because page styles such as `button { display:
  // inline-block }` override the attribute.
  function setShown(node, shown) {
    node.hidden = !shown;
    node.style.display = shown ? "" : "none";
  }

  // ------------------------------------------------------------- layout

  addStylesheet();
  root.classList.add("chat");
  var statusLine = element("p", "chat-status");
  statusLine.setAttribute("role", "status");
  var olderButton = element("button", "chat-older", label("older"));
  olderButton.type = "button";
  setShown(olderButton, false);
  var list = element("div", "chat-messages");
  list.setAttribute("role", "log");
  list.setAttribute("aria-live", "polite");
  var emptyNote = element("p", "chat-empty", label("empty"));
  var readOnlyNote = element("p", "chat-read-only", label("read-only"));

  var form = element("form", "chat-form");
  var textInput = element("textarea", "chat-text");
  textInput.rows = 2;
  textInput.maxLength = 4096;
  textInput.placeholder = label("placeholder");
  textInput.setAttribute("aria-label", label("message"));
  var fileInput = element("input", "chat-file-input");
  fileInput.type = "file";
  fileInput.id = "chat-file-input";
  var attachLabel = element("label", "chat-attach", label("attach"));
  attachLabel.htmlFor = fileInput.id;
  var sendButton = element("button", "chat-send", label("send"));
  sendButton.type = "submit";
  form.appendChild(textInput);
  form.appendChild(fileInput);
  form.appendChild(attachLabel);
  form.appendChild(sendButton);

  root.appendChild(statusLine);
  root.appendChild(olderButton);
  root.appendChild(list);
  root.appendChild(emptyNote);
  root.appendChild(readOnlyNote);
  root.appendChild(form);

  function showWritable() {
    setShown(form, canWrite);
    setShown(readOnlyNote, !canWrite);
    root.setAttribute("data-can-write", canWrite ? "true" : "false");
  }
  showWritable();

  function setStatus(text, isError) {
    statusLine.textContent = text || "";
    statusLine.classList.toggle("error", !!isError);
  }

  // Returns the text to show for an error the server reported as
  // `serverText`: the translated label `labelName` on pages that set
  // data-translated-errors or when the server sent no text, else the
  // server's text. Callers log the server's text with console.warn.
  function errorText(labelName, serverText) {
    if (translatedErrors || !serverText) {
      return label(labelName);
    }
    return serverText;
  }

  // ------------------------------------------------------------ messages

  var messages = {}; // id -> message object
  var pending = loadPending(); // client_id -> {text, file_id}
  var lastId = 0;
  var oldestId = 0;
  var hasMore = false;
  var lastDeliveredSent = 0;
  var lastSeenSent = 0;

  function loadPending() {
    try {
      return JSON.parse(window.sessionStorage.getItem(pendingKey) || "{}") || {};
    } catch (error) {
      return {};
    }
  }

  function savePending() {
    try {
      window.sessionStorage.setItem(pendingKey, JSON.stringify(pending));
    } catch (error) {
      // Storage may be full or disabled; pending messages then live only
      // as long as the page.
    }
  }

  function receiptMark(message) {
    var mark = element("span", "receipt");
    if (message.read_at) {
      mark.classList.add("read");
      mark.textContent = "✓✓";
      mark.title = label("read") + " " + formatTime(message.read_at);
    } else if (message.delivered_at) {
      mark.classList.add("delivered");
      mark.textContent = "✓✓";
      mark.title = label("delivered") + " " + formatTime(message.delivered_at);
    } else {
      mark.classList.add("sent");
      mark.textContent = "✓";
      mark.title = label("sent");
    }
    mark.setAttribute("aria-label", mark.title);
    return mark;
  }

  function renderMessage(message) {
    var mine = message.sender === me;
    var node = element("div", "message " + (mine ? "sent" : "received") + " " + (message.kind === "file" ? "file" : "text"));
    node.setAttribute("data-message-id", String(message.id));
    node.setAttribute("data-client-id", message.client_id);

    var meta = element("p", "meta");
    var name = mine ? label("me") : message.sender_name || label("other");
    meta.appendChild(element("span", "sender", name));
    var time = element("time", "time", formatTime(message.sent_at));
    time.dateTime = message.sent_at;
    meta.appendChild(time);
    node.appendChild(meta);

    if (message.file) {
      var link = element("a", "file-link");
      link.href = message.file.url;
      link.rel = "noopener";
      if (message.file.content_type.indexOf("image/") === 0) {
        var image = element("img", "file-image");
        image.src = message.file.url;
        image.alt = message.file.name;
        image.loading = "lazy";
        link.appendChild(image);
      } else {
        link.textContent = message.file.name;
        link.setAttribute("download", message.file.name);
      }
      node.appendChild(link);
    }

    if (message.text) {
      node.appendChild(element("p", "body", message.text));
    }
    if (mine) {
      node.appendChild(receiptMark(message));
    }
    return node;
  }

  function renderPending(clientId, item) {
    var node = element("div", "message sent pending " + (item.file_id ? "file" : "text"));
    node.setAttribute("data-client-id", clientId);
    if (item.text) {
      node.appendChild(element("p", "body", item.text));
    }
    var mark = element("span", "receipt pending", label("sending"));
    node.appendChild(mark);
    return node;
  }

  function findByClientId(clientId) {
    var nodes = list.querySelectorAll(".message");
    for (var i = 0; i < nodes.length; i++) {
      if (nodes[i].getAttribute("data-client-id") === clientId) {
        return nodes[i];
      }
    }
    return null;
  }

  // Puts a stored message in id order, replacing its pending copy or an
  // earlier rendering, so nothing is shown twice.
  function placeMessage(message) {
    messages[message.id] = message;
    var node = renderMessage(message);
    var old = list.querySelector('.message[data-message-id="' + message.id + '"]') || findByClientId(message.client_id);
    if (old) {
      old.remove();
    }
    var next = null;
    var stored = list.querySelectorAll(".message[data-message-id]");
    for (var i = 0; i < stored.length; i++) {
      if (Number(stored[i].getAttribute("data-message-id")) > message.id) {
        next = stored[i];
        break;
      }
    }
    if (next) {
      list.insertBefore(node, next);
    } else {
      var firstPending = list.querySelector(".message.pending");
      list.insertBefore(node, firstPending);
    }
    lastId = Math.max(lastId, message.id);
    oldestId = oldestId === 0 ? message.id : Math.min(oldestId, message.id);
    if (pending[message.client_id]) {
      delete pending[message.client_id];
      savePending();
    }
  }

  function refreshEmpty() {
    setShown(emptyNote, list.querySelector(".message") === null);
  }

  function showPending() {
    Object.keys(pending).forEach(function (clientId) {
      if (!findByClientId(clientId)) {
        list.appendChild(renderPending(clientId, pending[clientId]));
      }
    });
    refreshEmpty();
  }

  // --------------------------------------------------------------- socket

  var socket = null;
  var attempt = 0;
  var stopped = false;
  var olderRequested = false;
  var firstHistory = true;

  function socketUrl() {
    var scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    var url = scheme + "//" + window.location.host + data.wsUrl;
    if (lastId > 0) {
      url += (url.indexOf("?") === -1 ? "?" : "&") + "after=" + lastId;
    }
    return url;
  }

  function sendFrame(frame) {
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify(frame));
      return true;
    }
    return false;
  }

  function sendFrameOf(clientId, item) {
    var frame = { type: "send", client_id: clientId, text: item.text || "" };
    if (item.file_id) {
      frame.file_id = item.file_id;
    }
    return frame;
  }

  // Returns the size of `frame` as the server counts it: UTF-8 bytes.
  function frameBytes(frame) {
    var text = JSON.stringify(frame);
    if (window.TextEncoder) {
      return new TextEncoder().encode(text).length;
    }
    return new Blob([text]).size;
  }

  // Sends a pending message, or marks it failed when its frame is over
  // the server's limit, so it is not sent again on every reconnect.
  function sendMessage(clientId, item) {
    var frame = sendFrameOf(clientId, item);
    if (frameBytes(frame) > MAX_FRAME_BYTES) {
      markFailed(clientId, label("too-long"));
      setStatus(label("too-long"), true);
      return;
    }
    sendFrame(frame);
  }

  function sendPending() {
    Object.keys(pending).forEach(function (clientId) {
      sendMessage(clientId, pending[clientId]);
    });
  }

  // After a 1009 close: marks failed every pending message whose frame is
  // over the limit or, when none is (the server's limit is lower than
  // MAX_FRAME_BYTES), the largest one, so the reconnect does not send the
  // same refused frame again.
  function dropRefusedMessages() {
    var largest = null;
    var largestBytes = -1;
    var dropped = false;
    Object.keys(pending).forEach(function (clientId) {
      var bytes = frameBytes(sendFrameOf(clientId, pending[clientId]));
      if (bytes > MAX_FRAME_BYTES) {
        markFailed(clientId, label("too-long"));
        dropped = true;
      } else if (bytes > largestBytes) {
        largest = clientId;
        largestBytes = bytes;
      }
    });
    if (!dropped && largest !== null) {
      markFailed(largest, label("too-long"));
    }
  }

  // Shows the request's new status in the page's marked elements.
  function showRequestStatus(status) {
    var statusLabel = label("status-" + status);
    document.querySelectorAll("[data-chat-status]").forEach(function (node) {
      if (statusLabel) {
        node.textContent = statusLabel;
      }
      Array.prototype.slice.call(node.classList).forEach(function (name) {
        if (name.indexOf("status-") === 0) {
          node.classList.remove(name);
        }
      });
      node.classList.add("status-" + status);
      node.setAttribute("data-chat-status", status);
    });
    var noticeLabel = label("notice-" + status);
    if (noticeLabel) {
      document.querySelectorAll("[data-chat-notice]").forEach(function (node) {
        node.textContent = noticeLabel;
      });
    }
  }

  // Reports the other side's messages as delivered, and as seen while the
  // page is visible. Only the client and the assigned helper send receipts.
  function sendReceipts() {
    if (me === "helper" && !canWrite) {
      return;
    }
    var newest = 0;
    Object.keys(messages).forEach(function (id) {
      if (messages[id].sender !== me) {
        newest = Math.max(newest, Number(id));
      }
    });
    if (newest === 0) {
      return;
    }
    if (newest > lastDeliveredSent && sendFrame({ type: "delivered", up_to: newest })) {
      lastDeliveredSent = newest;
    }
    if (document.visibilityState === "visible" && newest > lastSeenSent && sendFrame({ type: "seen", up_to: newest })) {
      lastSeenSent = newest;
    }
  }

  function applyReceipt(frame) {
    frame.ids.forEach(function (id) {
      var message = messages[id];
      if (!message) {
        return;
      }
      if (frame.delivered_at) {
        message.delivered_at = frame.delivered_at;
      }
      if (frame.read_at) {
        message.read_at = frame.read_at;
      }
      placeMessage(message);
    });
  }

  function markFailed(clientId, text) {
    delete pending[clientId];
    savePending();
    var node = findByClientId(clientId);
    if (node) {
      node.classList.remove("pending");
      node.classList.add("failed");
      var mark = node.querySelector(".receipt");
      if (mark) {
        mark.className = "receipt failed";
        mark.textContent = label("failed");
        mark.title = text;
      }
    }
  }

  function handleFrame(frame) {
    switch (frame.type) {
      case "history":
        frame.messages.forEach(placeMessage);
        if (olderRequested || firstHistory) {
          hasMore = frame.has_more === true;
          setShown(olderButton, hasMore);
        }
        olderRequested = false;
        firstHistory = false;
        refreshEmpty();
        sendReceipts();
        break;
      case "message":
        placeMessage(frame.message);
        refreshEmpty();
        sendReceipts();
        break;
      case "receipt":
        applyReceipt(frame);
        break;
      case "status":
        canWrite = frame.can_write;
        showWritable();
        showRequestStatus(frame.status);
        break;
      case "error": {
        // An error with a client_id rejected that message for good. One
        // without it (a busy database, an invalid frame) leaves pending
        // messages to be sent again on the next connection.
        console.warn("chat error frame: " + frame.message);
        var text = errorText(frame.client_id ? "rejected" : "error", frame.message);
        if (frame.client_id) {
          markFailed(frame.client_id, text);
        }
        setStatus(text, true);
        break;
      }
      default:
        break;
    }
  }

  function connect() {
    setStatus(label("connecting"));
    socket = new WebSocket(socketUrl());
    socket.addEventListener("open", function () {
      attempt = 0;
      setStatus("");
      sendPending();
    });
    socket.addEventListener("message", function (event) {
      var frame;
      try {
        frame = JSON.parse(event.data);
      } catch (error) {
        return;
      }
      handleFrame(frame);
    });
    socket.addEventListener("close", function (event) {
      socket = null;
      if (stopped) {
        return;
      }
      // 1008: the server closed the chat for this viewer (access lost or
      // sign-in ended); reconnecting would only be refused.
      if (event.code === CLOSE_POLICY) {
        stopped = true;
        canWrite = false;
        showWritable();
        // Pages in the reader's language pass data-label-ended; others
        // show the server's English reason.
        if (event.reason) {
          console.warn("chat closed: " + event.reason);
        }
        var ended = root.getAttribute("data-label-ended");
        setStatus(ended || event.reason || label("read-only"), true);
        return;
      }
      if (event.code === CLOSE_TOO_BIG) {
        dropRefusedMessages();
      }
      setStatus(label("offline"), true);
      var delay = Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * Math.pow(2, attempt));
      attempt += 1;
      window.setTimeout(connect, delay + Math.floor(Math.random() * 250));
    });
  }

  // --------------------------------------------------------------- input

  function queueMessage(text, fileId) {
    var clientId = newClientId();
    var item = { text: text };
    if (fileId) {
      item.file_id = fileId;
    }
    pending[clientId] = item;
    savePending();
    list.appendChild(renderPending(clientId, item));
    refreshEmpty();
    list.scrollTop = list.scrollHeight;
    sendMessage(clientId, item);
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = textInput.value.trim();
    if (!text || !canWrite) {
      return;
    }
    textInput.value = "";
    queueMessage(text, null);
  });

  textInput.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit ? form.requestSubmit() : sendButton.click();
    }
  });

  fileInput.addEventListener("change", function () {
    var file = fileInput.files && fileInput.files[0];
    if (!file) {
      return;
    }
    var caption = textInput.value.trim();
    var separator = data.uploadUrl.indexOf("?") === -1 ? "?" : "&";
    var headers = { "Content-Type": "application/octet-stream" };
    if (data.csrf) {
      headers["X-CSRF-Token"] = data.csrf;
    }
    setStatus(label("sending"));
    fetch(data.uploadUrl + separator + "name=" + encodeURIComponent(file.name), {
      method: "POST",
      body: file,
      headers: headers,
      credentials: "same-origin",
    })
      .then(function (response) {
        return response
          .json()
          .catch(function () {
            return {};
          })
          .then(function (body) {
            if (!response.ok || !body.file) {
              var failure = new Error(body.error || "the upload failed with HTTP status " + response.status);
              failure.serverText = body.error || "";
              failure.status = response.status;
              throw failure;
            }
            return body.file;
          });
      })
      .then(function (stored) {
        setStatus("");
        textInput.value = "";
        queueMessage(caption, stored.id);
      })
      .catch(function (error) {
        // A network failure rejects fetch with a TypeError. It has no
        // serverText, and its message comes from the browser.
        console.warn("chat upload failed: " + error.message);
        var serverText = error.serverText !== undefined ? error.serverText : error.message;
        // 409: too many uploaded files wait for a message that sends them.
        var labelName = error.status === 409 ? "upload-too-many" : "upload-failed";
        setStatus(errorText(labelName, serverText), true);
      })
      .then(function () {
        fileInput.value = "";
      });
  });

  olderButton.addEventListener("click", function () {
    if (oldestId > 0 && sendFrame({ type: "older", before: oldestId })) {
      olderRequested = true;
    }
  });

  document.addEventListener("visibilitychange", sendReceipts);

  showPending();
  connect();
})();
