try { json.decode("{"); } catch (e) { throw e; }
