/** The product folders the coverage floor is about: not test helpers, benches or the console. */
export const PRODUCT_FOLDERS = ['src', 'storage', 'protocol', 'routes']

/** Lowest share of lines each product folder must have covered by the whole suite, in percent. */
export const LINES_FLOOR = 80
