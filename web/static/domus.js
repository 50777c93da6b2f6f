// A little help where it saves a tap; every page works without it.
document.addEventListener("DOMContentLoaded", () => {
  // a read-only field meant to be copied selects itself
  for (const field of document.querySelectorAll("[data-select-on-focus]")) {
    field.addEventListener("focus", () => field.select());
  }
  // a button that asks before it acts: data-confirm="question"
  for (const button of document.querySelectorAll("[data-confirm]")) {
    button.addEventListener("click", (event) => {
      if (!window.confirm(button.dataset.confirm)) event.preventDefault();
    });
  }
  // a page that waits for a batch reloads itself: data-refresh="seconds"
  const refresh = document.querySelector("[data-refresh]");
  if (refresh) {
    window.setTimeout(() => window.location.reload(), 1000 * Number(refresh.dataset.refresh));
  }
});
