-- configs: row mixed full minimal
-- Spatial columns with an SRID, a SPATIAL index (NOT NULL geometry), every geometry type,
-- geometries as the only identity of a keyless table, updates that move shapes.
CREATE DATABASE adv;
CREATE TABLE adv.g (id INT PRIMARY KEY, p POINT NOT NULL, l LINESTRING, pg POLYGON, mp MULTIPOINT, ml MULTILINESTRING, mpg MULTIPOLYGON, gc GEOMETRYCOLLECTION, g GEOMETRY, SPATIAL INDEX (p));
INSERT INTO adv.g VALUES (1, ST_GeomFromText('POINT(1 2)', 4326), ST_GeomFromText('LINESTRING(0 0, 1 1, 2 -1)', 4326), ST_GeomFromText('POLYGON((0 0,10 0,10 10,0 10,0 0),(2 2,3 2,3 3,2 2))', 3857), ST_GeomFromText('MULTIPOINT(1 1, 2 2)'), ST_GeomFromText('MULTILINESTRING((0 0,1 1),(2 2,3 3))'), ST_GeomFromText('MULTIPOLYGON(((0 0,1 0,1 1,0 0)),((5 5,6 5,6 6,5 5)))'), ST_GeomFromText('GEOMETRYCOLLECTION(POINT(1 1), LINESTRING(0 0, 1 1))'), ST_GeomFromText('POINT(-0.0 1e300)'));
INSERT INTO adv.g (id, p) VALUES (2, POINT(3.5, -4.25)), (3, ST_PointFromText('POINT(0.1 0.2)', 4326));
UPDATE adv.g SET p = POINT(ST_X(p) + 1, ST_Y(p)) WHERE id = 2;
UPDATE adv.g SET g = ST_Buffer(p, 1) WHERE id = 3;
UPDATE adv.g SET l = NULL, gc = ST_GeomFromText('GEOMETRYCOLLECTION EMPTY') WHERE id = 1;
DELETE FROM adv.g WHERE MBRContains(ST_GeomFromText('POLYGON((3 -5,5 -5,5 0,3 0,3 -5))'), p);
CREATE TABLE adv.nk (p POINT, g GEOMETRY);
INSERT INTO adv.nk VALUES (POINT(1, 1), ST_GeomFromText('LINESTRING(0 0, 1 1)', 4326)), (POINT(1, 1), ST_GeomFromText('LINESTRING(0 0, 1 1)', 4326)), (POINT(2, 2), NULL), (NULL, ST_GeomFromText('POINT(0.30000000000000004 0.1)'));
UPDATE adv.nk SET g = POINT(9, 9) WHERE ST_Equals(p, POINT(1, 1)) LIMIT 1;
DELETE FROM adv.nk WHERE p IS NULL;
UPDATE adv.nk SET p = POINT(3, 3) WHERE g IS NULL;
