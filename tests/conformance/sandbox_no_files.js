export default (await import("os")).open("/etc/passwd");
