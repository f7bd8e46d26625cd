// The buyer's checkout pages: counts down the hold's time left on the cart page
// (`#timer` carries the deadline in `data-expires`, in epoch milliseconds).
(function () {
  var el = document.getElementById('timer');
  if (!el) return;
  var end = Number(el.getAttribute('data-expires'));
  function tick() {
    var s = Math.max(0, Math.floor((end - Date.now()) / 1000));
    var m = Math.floor(s / 60), r = s % 60;
    el.textContent = m + ':' + (r < 10 ? '0' : '') + r;
    if (s > 0) setTimeout(tick, 1000);
  }
  tick();
})();
