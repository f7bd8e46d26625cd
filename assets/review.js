// The review queue's script. The page works without it; it adds the keys j/k (move),
// a (accept the guess), e (edit), d (dismiss), and a cheap poll that shows when new
// comments wait, fetching the page again only then.
(function () {
  "use strict";
  var queue = document.getElementById("queue");
  if (!queue) {
    return;
  }
  var selected = -1;

  function items() {
    return Array.prototype.slice.call(queue.querySelectorAll(".review-item"));
  }

  function select(index) {
    var all = items();
    if (!all.length) {
      return;
    }
    index = Math.max(0, Math.min(index, all.length - 1));
    all.forEach(function (item, i) {
      item.classList.toggle("selected", i === index);
    });
    selected = index;
    all[index].focus({ preventScroll: true });
    all[index].scrollIntoView({ block: "nearest" });
  }

  function current() {
    var all = items();
    return selected >= 0 && selected < all.length ? all[selected] : null;
  }

  function submit(item, selector) {
    var form = item && item.querySelector(selector);
    if (form) {
      form.submit();
    }
  }

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    var typing = target && /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName);
    if (typing || event.ctrlKey || event.metaKey || event.altKey) {
      return;
    }
    var item = current();
    switch (event.key) {
      case "j":
        select(selected + 1);
        break;
      case "k":
        select(selected - 1);
        break;
      case "a":
        submit(item, "form.accept");
        break;
      case "d":
        submit(item, "form.dismiss");
        break;
      case "e":
        if (item) {
          var details = item.querySelector("details.edit");
          details.open = true;
          var field = details.querySelector("input[name=keyword]");
          field.focus();
          field.select();
        }
        break;
      default:
        return;
    }
    event.preventDefault();
  });

  var hash = window.location.hash;
  var start = hash ? items().map(function (i) { return "#" + i.id; }).indexOf(hash) : 0;
  select(start < 0 ? 0 : start);

  // New items are appended as they arrive; what is on screen is never redrawn, so a
  // half-typed edit stays as it is.
  var newest = Number(queue.getAttribute("data-newest")) || 0;
  var busy = false;
  function poll() {
    if (busy || document.hidden) {
      return;
    }
    busy = true;
    fetch(queue.getAttribute("data-poll"), { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (state) {
        var count = document.getElementById("waiting");
        if (state && count) {
          count.textContent = String(state.waiting);
        }
        if (!state || state.newest <= newest) {
          return null;
        }
        return fetch("/review", { credentials: "same-origin" })
          .then(function (response) { return response.text(); })
          .then(function (html) {
            var page = new DOMParser().parseFromString(html, "text/html");
            var fresh = page.getElementById("queue");
            if (!fresh) {
              return;
            }
            fresh.querySelectorAll(".review-item").forEach(function (item) {
              if (!document.getElementById(item.id)) {
                queue.appendChild(document.importNode(item, true));
              }
            });
            newest = Number(fresh.getAttribute("data-newest")) || newest;
            var empty = document.getElementById("queue-empty");
            if (empty) {
              empty.hidden = true;
            }
            if (selected < 0) {
              select(0);
            }
          });
      })
      .catch(function () {})
      .then(function () { busy = false; });
  }
  window.setInterval(poll, 2000);
})();
