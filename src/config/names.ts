// Name patterns the config, the FRR generator and the control protocol all check (a leaf module: no imports, no cycles).

// What Linux accepts as an interface name (IFNAMSIZ 16 with the NUL): no spaces or slashes.
export const INTERFACE_NAME = /^[A-Za-z0-9_.:@-]{1,15}$/;
export const SERVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
