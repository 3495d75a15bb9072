"use strict";

module.exports = async (event, context) => {
  context.status(200);
  return { message: "hello from node24", method: event.method, body: event.body };
};
