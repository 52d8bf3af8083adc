// Starts the console once every script has loaded: the language, the token
// field, the live stream, the router and the clock of the countdowns.
"use strict";

const langSel = $("#lang");
langSel.value = lang();
langSel.addEventListener("change", () => { setLang(langSel.value); applyI18n(document); showToken(); drawHeader(); render(); });
applyI18n(document);
showToken();
window.addEventListener("hashchange", render);
live.start();
render();
loadRole();
setInterval(tickCountdowns, 1000);
