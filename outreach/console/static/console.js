// Outreach console: the campaign builder's live count and preview, and the progress bar. No framework.
(function () {
  "use strict";
  const main = document.querySelector("main");
  const csrf = main ? main.dataset.csrf : null;

  const builder = document.getElementById("campagne");
  if (builder && csrf) {
    const count = document.getElementById("audience");
    const text = document.getElementById("apercu-texte");
    const buttons = document.getElementById("apercu-boutons");
    const problem = document.getElementById("erreur-campagne");
    let timer = null;
    let sequence = 0;
    const refresh = async function () {
      const mine = ++sequence;
      const body = new FormData(builder);
      try {
        const response = await fetch("/campagnes/audience", {
          method: "POST", body: body, headers: { "X-CSRF-Token": csrf, "Accept": "application/json" },
          credentials: "same-origin",
        });
        const data = await response.json();
        if (mine !== sequence) return;
        if (!response.ok) { problem.textContent = data.error || "Vérifiez le formulaire."; problem.hidden = false; return; }
        problem.hidden = true;
        count.textContent = String(data.audience);
        text.textContent = data.text;
        buttons.replaceChildren(...(data.buttons || []).map(function (title) {
          const tag = document.createElement("span"); tag.className = "tag"; tag.textContent = title; return tag;
        }));
      } catch (error) {
        if (mine === sequence) { problem.textContent = "Connexion perdue : réessayez."; problem.hidden = false; }
      }
    };
    const soon = function () { clearTimeout(timer); timer = setTimeout(refresh, 250); };
    builder.addEventListener("input", soon);
    builder.addEventListener("change", soon);
    refresh();
  }

  const section = document.getElementById("progression");
  if (section) {
    const bar = document.getElementById("barre");
    const percent = document.getElementById("pourcentage");
    const done = document.getElementById("faits");
    const total = document.getElementById("total");
    const state = document.getElementById("etat");
    const tick = async function () {
      try {
        const response = await fetch(section.dataset.url, { headers: { "Accept": "application/json" }, credentials: "same-origin" });
        if (response.ok) {
          const data = await response.json();
          bar.value = data.percent; bar.textContent = data.percent + " %";
          percent.textContent = String(data.percent); done.textContent = String(data.done); total.textContent = String(data.total);
          state.textContent = data.status_label;
          if (data.status === "done" || data.status === "cancelled") return;
        }
      } catch (error) { /* try again below */ }
      setTimeout(tick, 1000);
    };
    setTimeout(tick, 1000);
  }
})();
