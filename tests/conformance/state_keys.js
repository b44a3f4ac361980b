for (const k of ["b/2", "a/1", "b/1", "c"]) state.set(k, true);
export default { all: state.keys(), b: state.keys("b/"), none: state.keys("zzz") };
