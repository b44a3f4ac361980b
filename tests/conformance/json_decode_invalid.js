export default json.decode("{not json");
