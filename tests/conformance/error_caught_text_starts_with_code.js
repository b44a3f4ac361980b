let out;
try { json.decode("{"); } catch (e) { out = [false, e.code, e.message.split(":")[0]]; }
export default out.slice(0, 2);
