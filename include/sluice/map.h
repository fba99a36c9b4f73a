/* map.h - map files and the map_* converters.
 *
 * Owns: loading map files ("KEY VALUE" lines, '#' comments; a file is
 * loaded once however many converters use it), and the converters
 * map_str, map_beg, map_end, map_sub, map_dom, map_reg, map_ip (and
 * map_int), each "map_X(FILE[,DEFAULT])", registered in the sample
 * registry. Lookups use the pattern store (pattern.h).
 * Threading: maps are loaded while parsing and read-only afterwards.
 */
#ifndef SLUICE_MAP_H
#define SLUICE_MAP_H

/* Free every loaded map (config_free). */
void map_free_all(void);

#endif
