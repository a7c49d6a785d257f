// Scan a certificate's QR code with the phone's camera where the browser can decode QR codes
// (BarcodeDetector); the decoded text goes into the "add a person" field and the form is sent.
(function () {
  "use strict";
  var button = document.getElementById("scan-button");
  var box = document.getElementById("scan-box");
  var video = document.getElementById("scan-video");
  var input = document.getElementById("add");
  var form = document.getElementById("check-form");
  if (!button || !("BarcodeDetector" in window) || !navigator.mediaDevices) return;
  window.BarcodeDetector.getSupportedFormats().then(function (formats) {
    if (formats.indexOf("qr_code") >= 0) button.hidden = false;
  }).catch(function () {});
  var stream = null;
  function stop() {
    if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
    stream = null;
    box.hidden = true;
  }
  button.addEventListener("click", function () {
    if (stream) { stop(); return; }
    var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }).then(function (s) {
      stream = s;
      box.hidden = false;
      video.srcObject = s;
      video.play();
      var tick = function () {
        if (!stream) return;
        detector.detect(video).then(function (codes) {
          if (codes.length && codes[0].rawValue) {
            input.value = codes[0].rawValue;
            stop();
            form.submit();
          } else {
            window.setTimeout(tick, 250);
          }
        }).catch(function () { window.setTimeout(tick, 500); });
      };
      tick();
    }).catch(function () {
      stop();
      var status = document.getElementById("scan-status");
      status.textContent = button.getAttribute("data-failed") || "";
      box.hidden = false;
      video.hidden = true;
    });
  });
})();
