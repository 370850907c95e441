// affiliated: the only script of the portal and the console. Everything
// works without it; it adds copy buttons to elements marked data-copy
// (the id of the input whose value to copy).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
	document.querySelectorAll("button[data-copy]").forEach(function (btn) {
		var input = document.getElementById(btn.getAttribute("data-copy"));
		var status = document.getElementById(btn.getAttribute("data-copy") + "-status");
		if (!input) {
			return;
		}
		btn.hidden = false;
		btn.addEventListener("click", function () {
			var done = function (ok) {
				if (status) {
					status.textContent = ok ? "Copied." : "Select the link and copy it.";
				}
			};
			input.select();
			if (navigator.clipboard && navigator.clipboard.writeText) {
				navigator.clipboard.writeText(input.value).then(function () { done(true); }, function () { done(false); });
			} else {
				done(false);
			}
		});
	});
});
