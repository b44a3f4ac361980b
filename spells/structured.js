// structured: the reply must be JSON valid against a schema; reply.data holds it.
const cat = await llm.chat("Invent a cat.", {
  system: "Reply with JSON only.", max_tokens: 60, temperature: 0,
  schema: {type: "object", required: ["name", "age"],
           properties: {name: {type: "string", maxLength: 12}, age: {type: "integer"}}},
});
print(`${cat.data.name} is ${cat.data.age}`);
export default cat.data;
