export default { f: print };
