"use strict";

// Answers with a greeting; GREETING comes from stack.yml's environment.
module.exports = async (event) => {
  const name = event.query.name || "world";
  return `${process.env.GREETING || "Hi"}, ${name}!\n`;
};
