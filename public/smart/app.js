/*
 * The SMART app's form page: renders the triage Questionnaire with LHC-Forms, sends the
 * completed QuestionnaireResponse to /smart/submit with the page's CSRF token, and shows
 * the server's problems next to the items they are about. Plain script (no build step),
 * loaded from this origin only (the page's Content-Security-Policy allows nothing inline).
 */
(function () {
  'use strict';

  var data = JSON.parse(document.getElementById('smart-data').textContent);
  var container = document.getElementById('triage-form');
  var form = document.getElementById('triage');
  var button = document.getElementById('submit');
  var status = document.getElementById('submit-status');
  var summary = document.getElementById('error-summary');
  var urgent = document.getElementById('urgent-advice');
  var LOAD_WAIT_MS = 30000;

  function lformsLoaded() {
    var lforms = window.LForms;
    return lforms && lforms.Util && lforms.Util.addFormToPage && lforms.FHIR && lforms.FHIR.R4;
  }

  // LHC-Forms' module scripts load after this deferred one may run: wait for them.
  function whenLoaded() {
    return new Promise(function (resolve, reject) {
      var started = Date.now();
      (function poll() {
        if (lformsLoaded()) {
          resolve();
        } else if (Date.now() - started > LOAD_WAIT_MS) {
          reject(new Error('The form did not load.'));
        } else {
          setTimeout(poll, 50);
        }
      })();
    });
  }

  function text(element, value) {
    element.textContent = value;
    return element;
  }

  function element(tag, className, value) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (value !== undefined) {
      node.textContent = value;
    }
    return node;
  }

  function itemNode(linkId) {
    // LHC-Forms gives each item the id `item-<linkId>/<position>/…`.
    return container.querySelector('[id^="item-' + linkId.replace(/["\\]/g, '') + '/"]');
  }

  function clearProblems() {
    summary.hidden = true;
    summary.textContent = '';
    urgent.hidden = true;
    urgent.textContent = '';
    Array.prototype.forEach.call(container.querySelectorAll('.item-problem'), function (node) {
      node.remove();
    });
    Array.prototype.forEach.call(container.querySelectorAll('.has-problem'), function (node) {
      node.classList.remove('has-problem');
    });
  }

  function showProblems(body) {
    if (body.advice) {
      // Red-flag advice in the emergency style; other advice (answers checked but not saved) plainly.
      urgent.className = body.urgent === false ? 'callout' : 'callout callout-emergency';
      urgent.appendChild(element('h2', null, body.urgent === false ? 'What to do, from the answers you have given' : 'Important: from the answers you have given'));
      urgent.appendChild(element('p', null, body.advice));
      urgent.hidden = false;
    }
    var problems = body.problems || [];
    summary.appendChild(element('h2', null, body.message || 'Some answers need checking'));
    var list = element('ul');
    problems.forEach(function (problem, index) {
      var li = element('li');
      var node = problem.linkId ? itemNode(problem.linkId) : null;
      var label = problem.question ? problem.question + ' — ' + problem.text : problem.text;
      if (node) {
        var id = 'problem-' + index;
        var message = element('p', 'item-problem', problem.text);
        message.id = id;
        node.classList.add('has-problem');
        node.insertBefore(message, node.firstChild);
        var link = element('a', null, label);
        link.href = '#' + id;
        link.addEventListener('click', function (event) {
          event.preventDefault();
          node.scrollIntoView({ block: 'center' });
          var input = node.querySelector('input, select, textarea');
          (input || message).focus();
        });
        li.appendChild(link);
      } else {
        text(li, label);
      }
      list.appendChild(li);
    });
    summary.appendChild(list);
    summary.hidden = false;
    (body.advice ? urgent : summary).setAttribute('tabindex', '-1');
    (body.advice ? urgent : summary).focus();
  }

  function submit() {
    clearProblems();
    var response = window.LForms.Util.getFormFHIRData('QuestionnaireResponse', 'R4', container);
    response.subject = { reference: data.subject };
    if (data.author) {
      response.author = { reference: data.author };
    }
    button.disabled = true;
    text(status, 'Checking your answers…');
    fetch('/smart/submit', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': data.csrfToken },
      body: JSON.stringify({ response: response }),
    })
      .then(function (res) {
        return res.json().then(function (body) {
          return { status: res.status, body: body };
        });
      })
      .then(function (answer) {
        if (answer.status === 200 && answer.body.next) {
          text(status, 'Done. Showing what to do…');
          window.location.assign(answer.body.next);
          return;
        }
        text(status, '');
        button.disabled = false;
        showProblems(answer.body);
      })
      .catch(function () {
        text(status, '');
        button.disabled = false;
        showProblems({ message: 'Your answers could not be sent. Check your connection and try again. If you are worried, call NHS 111, or 999 in an emergency.' });
      });
  }

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    submit();
  });

  whenLoaded()
    .then(function () {
      return window.LForms.Util.addFormToPage(data.questionnaire, container, { fhirVersion: 'R4', questionnaireResponse: data.initialResponse });
    })
    .then(function () {
      container.setAttribute('aria-busy', 'false');
      button.disabled = false;
      document.body.setAttribute('data-form-ready', 'true');
    })
    .catch(function () {
      container.setAttribute('aria-busy', 'false');
      text(container, 'The questions could not be loaded. Please reload the page. If you are worried, call NHS 111, or 999 in an emergency.');
    });
})();
