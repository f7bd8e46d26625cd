// The live board's own script. The page works without it (the buttons are forms and a
// reload shows the numbers); it adds live numbers from the board's event stream and
// the number keys 1-9 for the product on screen.
(function () {
  "use strict";
  var board = document.getElementById("board");
  if (!board) {
    return;
  }
  var live = board.getAttribute("data-live");

  // As the server formats money (crate::i18n::format_money): symbol, grouped thousands,
  // cents only when there are some.
  var SYMBOLS = { HKD: ["HK$", 2], TWD: ["NT$", 2], USD: ["US$", 2], MOP: ["MOP$", 2], CNY: ["¥", 2], JPY: ["¥", 0] };
  function money(minor, currency) {
    var s = SYMBOLS[currency || "HKD"] || [(currency || "") + " ", 2];
    var scale = Math.pow(10, s[1]);
    var sign = minor < 0 ? "-" : "";
    minor = Math.abs(minor);
    var whole = Math.floor(minor / scale).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    var fraction = minor % scale;
    if (fraction === 0) {
      return sign + s[0] + whole;
    }
    var cents = fraction.toString();
    while (cents.length < s[1]) {
      cents = "0" + cents;
    }
    return sign + s[0] + whole + "." + cents;
  }

  function setText(id, value) {
    var el = document.getElementById(id);
    if (el && el.textContent !== String(value)) {
      el.textContent = value;
    }
  }

  function drawChart(perMinute) {
    var line = document.getElementById("chart-line");
    if (!line || !perMinute) {
      return;
    }
    var counts = perMinute.map(function (m) { return m.count; });
    var max = Math.max.apply(null, counts.concat([1]));
    var step = counts.length > 1 ? 300 / (counts.length - 1) : 0;
    line.setAttribute("points", counts.map(function (c, i) {
      return (i * step).toFixed(1) + "," + (60 - (c / max) * 58 - 1).toFixed(1);
    }).join(" "));
    setText("per-minute-last", counts.length ? counts[counts.length - 1] : 0);
  }

  function drawTicker(items) {
    var list = document.getElementById("ticker");
    if (!list || !items || !items.length) {
      return;
    }
    list.textContent = "";
    items.forEach(function (item) {
      var li = document.createElement("li");
      li.className = "ticker-" + item.kind;
      var tag = document.createElement("span");
      tag.className = "tag";
      var label = item.kind === "question" ? "data-question"
        : item.outcome === "waitlisted" ? "data-waitlisted" : "data-order";
      tag.textContent = board.getAttribute(label);
      var who = document.createElement("strong");
      who.textContent = item.author_name || "?";
      li.appendChild(tag);
      li.appendChild(document.createTextNode(" "));
      li.appendChild(who);
      li.appendChild(document.createTextNode(" " + (item.text || "")));
      list.appendChild(li);
    });
  }

  function show(data) {
    var totals = data.totals || {};
    setText("t-comments", totals.comments);
    setText("t-orders", totals.orders);
    setText("t-buyers", totals.buyers);
    setText("t-units", totals.reserved_units);
    setText("t-held", money(totals.revenue_held, totals.currency));
    setText("t-paid", money(totals.revenue_paid, totals.currency));
    setText("t-receipts", totals.receipts_waiting);
    if (data.current) {
      setText("current", data.current);
    }
    (data.keywords || []).forEach(function (k) {
      var row = board.querySelector('[data-keyword="' + CSS.escape(k.keyword) + '"]');
      if (!row) {
        return;
      }
      ["available", "reserved", "waitlisted"].forEach(function (field) {
        var cell = row.querySelector('[data-field="' + field + '"]');
        if (cell && cell.textContent !== String(k[field])) {
          cell.textContent = k[field];
        }
      });
      row.classList.toggle("is-sold-out", k.sold_out);
      var flag = row.querySelector(".sold-out-flag");
      if (flag) {
        flag.hidden = !k.sold_out;
      }
      var button = row.querySelector("button.screen");
      if (button) {
        button.setAttribute("aria-pressed", data.current === k.keyword ? "true" : "false");
      }
    });
    drawChart(data.per_minute);
    drawTicker(data.ticker);
  }

  if (window.EventSource) {
    var source = new EventSource("/api/v1/lives/" + encodeURIComponent(live) + "/board/stream");
    source.onmessage = function (event) {
      try {
        show(JSON.parse(event.data));
      } catch (e) {
        // A broken frame is skipped; the next one carries the whole board again.
      }
    };
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) {
      return;
    }
    var target = event.target;
    if (target && /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName)) {
      return;
    }
    if (!/^[1-9]$/.test(event.key)) {
      return;
    }
    var button = board.querySelector('button.screen[data-key="' + event.key + '"]');
    if (button) {
      event.preventDefault();
      button.click();
    }
  });
})();

// The sandbox page: the viewers' comments with their public replies, and the chosen
// viewer's private messages, follow by themselves. Without the script, ↻ reloads them.
(function () {
  "use strict";
  var messenger = document.getElementById("messenger");
  if (!messenger || !window.fetch || !window.DOMParser) {
    return;
  }
  var busy = false;
  function swap(fresh, id) {
    var next = fresh.getElementById(id);
    var here = document.getElementById(id);
    if (next && here && next.innerHTML !== here.innerHTML) {
      here.innerHTML = next.innerHTML;
    }
  }
  function refresh() {
    if (busy || document.hidden) {
      return;
    }
    busy = true;
    fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (answer) {
        return answer.ok ? answer.text() : null;
      })
      .then(function (html) {
        if (html) {
          var fresh = new DOMParser().parseFromString(html, "text/html");
          swap(fresh, "comments");
          swap(fresh, "private-replies");
        }
      })
      .catch(function () {})
      .then(function () {
        busy = false;
      });
  }
  window.setInterval(refresh, 1500);
})();
