// budget: [limits] max_llm_calls (8 in this project) stops the call that would pass it.
let made = 0;
try {
  for (let i = 1; i <= 20; i++) {
    await llm.chat("Say the number " + i + ".", {max_tokens: 5, temperature: 0});
    made++;
  }
} catch (e) {
  print("calls made: " + made);
  print(e.code);
}
export default made;
