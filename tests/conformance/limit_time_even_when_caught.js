while (true) {
  try { while (true) {} } catch (e) {}
}
