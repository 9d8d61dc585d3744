// Parcours — teacher page. Progressive enhancement only: every feature works without it.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // After a decision, move focus to the confirmation so that keyboard and screen-reader
  // users hear it and continue from there.
  var flash = document.getElementById("flash");
  if (flash) { flash.focus(); }
  // Ask before a rejection: it removes the step from the pupil's path.
  document.querySelectorAll("button.choose").forEach(function (b) {
    b.addEventListener("click", function (ev) {
      if (!window.confirm("Remplacer cette étape par cette ressource ? L'étape sera rejetée et la ressource épinglée (annulable dans l'historique).")) { ev.preventDefault(); }
    });
  });
  document.querySelectorAll("button.reject").forEach(function (b) {
    b.addEventListener("click", function (ev) {
      if (!window.confirm("Rejeter cette étape ? Elle sera retirée du parcours de l'élève.")) { ev.preventDefault(); }
    });
  });
});
