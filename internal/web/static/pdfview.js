// pdfview.js: renders a PDF into canvases with the vendored PDF.js, one
// div.pdf-page per page, for pages that place or show fields on it.

import * as pdfjsLib from '/static/vendor/pdfjs/pdf.min.mjs';

pdfjsLib.GlobalWorkerOptions.workerSrc = '/static/vendor/pdfjs/pdf.worker.min.mjs';

/**
 * Renders every page of the PDF in data (an ArrayBuffer) into container,
 * replacing what was there, each page scaled to fit width CSS pixels
 * (default: the container's width). Returns, per page,
 * {number, wrapper, canvas, width, height, scale, rotate}: width and height
 * are the page's size in PDF points (as displayed, after its /Rotate), scale
 * is CSS pixels per point, rotate the page's /Rotate (0, 90, 180, 270). To
 * overlay a PDF box (x, y, w, h; points, lower-left origin) on a page with
 * rotate 0, put an absolutely positioned element in wrapper at
 * left = x*scale, top = (height - y - h)*scale, width = w*scale,
 * height = h*scale.
 */
export async function renderPDF(container, data, {width} = {}) {
  // PDF.js takes ownership of the buffer it is given: hand it a copy.
  const bytes = new Uint8Array(data.slice(0));
  const task = pdfjsLib.getDocument({
    data: bytes,
    isEvalSupported: false, // no eval: the CSP forbids it
    useWasm: false, // no WebAssembly either: the JavaScript PostScript interpreter
    enableXfa: false,
    stopAtErrors: false,
  });
  const doc = await task.promise;
  container.replaceChildren();
  const target = width || container.clientWidth || 800;
  const ratio = window.devicePixelRatio || 1;
  const pages = [];
  try {
    for (let number = 1; number <= doc.numPages; number++) {
      const page = await doc.getPage(number);
      const base = page.getViewport({scale: 1});
      const scale = target / base.width;
      const viewport = page.getViewport({scale: scale * ratio});
      const canvas = document.createElement('canvas');
      canvas.width = Math.floor(viewport.width);
      canvas.height = Math.floor(viewport.height);
      canvas.style.width = `${Math.floor(base.width * scale)}px`;
      canvas.style.height = `${Math.floor(base.height * scale)}px`;
      canvas.setAttribute('aria-label', `Page ${number} of ${doc.numPages}`);
      canvas.setAttribute('role', 'img');
      const wrapper = document.createElement('div');
      wrapper.className = 'pdf-page';
      wrapper.dataset.page = String(number);
      wrapper.style.width = canvas.style.width;
      wrapper.style.height = canvas.style.height;
      wrapper.appendChild(canvas);
      container.appendChild(wrapper);
      await page.render({canvasContext: canvas.getContext('2d'), canvas, viewport}).promise;
      pages.push({number, wrapper, canvas, width: base.width, height: base.height, scale, rotate: page.rotate});
      page.cleanup();
    }
  } finally {
    // The pages are drawn; the document and its worker are no longer needed.
    await task.destroy();
  }
  return pages;
}
