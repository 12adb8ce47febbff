// verify.js: the public verification page.
