"use strict";
// Runs during the image build (the template runs `npm test`): a failing test fails the build.
const assert = require("node:assert");
const handler = require("./handler.js");

handler({ query: { name: "test" } }).then((reply) => {
  assert.match(reply, /, test!\n$/);
  console.log("hello: test passed");
});
