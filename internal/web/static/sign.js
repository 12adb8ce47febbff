// sign.js: the page script (its owner writes it).
