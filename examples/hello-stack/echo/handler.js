"use strict";

// Echoes the request back as JSON.
module.exports = async (event, context) => {
  context.headers({ "content-type": "application/json" });
  return { method: event.method, path: event.path, body: event.body };
};
