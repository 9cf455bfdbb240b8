/* The result page's print button: shown only when script runs (without it, the browser's own Print works). */
(function () {
  'use strict';
  var button = document.getElementById('print');
  if (button) {
    button.hidden = false;
    button.addEventListener('click', function () {
      window.print();
    });
  }
})();
