"""Demo data: a deterministic, realistic stream of Brussels eviction notices.

`generate_notices` yields notice records shaped as CONTRACT.md's "Notice (JSON)", in receipt
order, for `domus demo`, the benchmarks and the tests. `write_jsonl` and `write_belgian_csv`
save any iterable of such records, the latter exactly as Excel saves a CSV in Belgium.

What the stream holds (Brussels, DESIGN.md "The procedure"):

- new cases start with a petition (~80%), a summons (~10%), or, for cases the OCMW first hears
  of late, a judgment (~7%) or a bailiff's eviction notice (~3%);
- later in the stream some cases get a postponed hearing (a second petition: same docket and
  filed_on, later hearing_at), an objection, a judgment (moratorium_lifted for ~10%) and then
  an eviction notice (~10% with less than 15 working days' notice, some inside the winter
  moratorium); a follow-up due after the window is simply not sent;
- ~3% are exact re-sends of an earlier notice (telecommunication, then the confirming letter):
  same content, received_on 1-4 days later;
- `flawed_share` of the records carry one flaw that must quarantine them (missing docket
  number, missing tenant last name, an impossible date, a hearing or eviction "date" that is
  not a date, an unknown kind, arrears in words), each kind in turn;
- ~1% of the cases have a dwelling that cannot be routed with certainty (postcode and
  municipality of different communes, a misspelt municipality, a postcode outside Brussels):
  valid records that belong in triage, not in quarantine;
- a few records carry a field the contract does not know ("registry_reference"), which
  intake must keep.

Small streams still hold a mix: the rare features are spread over the stream by quota
(at least one or two each when `count` allows), not left to chance.

Pure standard library; no clock is read (dates are parameters); a seed fixes the stream.
Memory grows with the cases that still have a follow-up to come, not with the stream.
"""

from __future__ import annotations

import csv
import heapq
import json
import re
import unicodedata
from bisect import bisect_left
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime, timedelta
from functools import lru_cache
from itertools import accumulate
from pathlib import Path
from random import Random
from typing import Any, NamedTuple

from domain.calendar import BelgianCalendar, add_months
from domain.regions import region_rules

__all__ = [
    "BRUSSELS_POSTCODES",
    "COMMUNE_NAMES",
    "CSV_COLUMNS",
    "FLAW_KINDS",
    "generate_notices",
    "write_belgian_csv",
    "write_jsonl",
]

# --------------------------------------------------------------------------------------------
# Reference data
# --------------------------------------------------------------------------------------------

# The Brussels justices of the peace that hear eviction cases, French and Dutch names.
_COURTS: dict[str, tuple[str, str]] = {
    "anderlecht1": ("Justice de paix du premier canton d'Anderlecht",
                    "Vredegerecht van het eerste kanton Anderlecht"),
    "anderlecht2": ("Justice de paix du deuxième canton d'Anderlecht",
                    "Vredegerecht van het tweede kanton Anderlecht"),
    "auderghem": ("Justice de paix du canton d'Auderghem", "Vredegerecht van het kanton Oudergem"),
    "bruxelles1": ("Justice de paix du premier canton de Bruxelles",
                   "Vredegerecht van het eerste kanton Brussel"),
    "bruxelles2": ("Justice de paix du deuxième canton de Bruxelles",
                   "Vredegerecht van het tweede kanton Brussel"),
    "bruxelles3": ("Justice de paix du troisième canton de Bruxelles",
                   "Vredegerecht van het derde kanton Brussel"),
    "bruxelles4": ("Justice de paix du quatrième canton de Bruxelles",
                   "Vredegerecht van het vierde kanton Brussel"),
    "etterbeek": ("Justice de paix du canton d'Etterbeek", "Vredegerecht van het kanton Etterbeek"),
    "forest": ("Justice de paix du canton de Forest", "Vredegerecht van het kanton Vorst"),
    "ixelles": ("Justice de paix du canton d'Ixelles", "Vredegerecht van het kanton Elsene"),
    "jette": ("Justice de paix du canton de Jette", "Vredegerecht van het kanton Jette"),
    "molenbeek": ("Justice de paix du canton de Molenbeek-Saint-Jean",
                  "Vredegerecht van het kanton Sint-Jans-Molenbeek"),
    "saint_gilles": ("Justice de paix du canton de Saint-Gilles",
                     "Vredegerecht van het kanton Sint-Gillis"),
    "saint_josse": ("Justice de paix du canton de Saint-Josse-ten-Noode",
                    "Vredegerecht van het kanton Sint-Joost-ten-Node"),
    "schaerbeek": ("Justice de paix du canton de Schaerbeek",
                   "Vredegerecht van het kanton Schaarbeek"),
    "uccle": ("Justice de paix du canton d'Uccle", "Vredegerecht van het kanton Ukkel"),
    "woluwe": ("Justice de paix du canton de Woluwe-Saint-Pierre",
               "Vredegerecht van het kanton Sint-Pieters-Woluwe"),
}  # fmt: skip

_Street = tuple[str, str]  # French and Dutch name


class _Area(NamedTuple):
    postcode: str
    share: float  # of the commune's notices
    courts: tuple[str, ...]  # competent canton(s), one drawn per case
    section: tuple[str, str] | None  # name of the commune's section used in addresses
    streets: tuple[_Street, ...]


class _Commune(NamedTuple):
    nis: str
    fr: str
    nl: str
    weight: float  # notices a year, roughly: population, skewed to the poorer communes
    areas: tuple[_Area, ...]
    social_housing: tuple[str, ...]  # the social housing companies (SISP/OVM) active there
    misspelt: str  # a municipality name that routes nowhere


def _area(postcode: str, courts: str, streets: Sequence[_Street], share: float = 1.0,
          section: tuple[str, str] | None = None) -> _Area:  # fmt: skip
    return _Area(postcode, share, tuple(courts.split()), section, tuple(streets))


_COMMUNES: tuple[_Commune, ...] = (
    _Commune("21001", "Anderlecht", "Anderlecht", 135, (
        _area("1070", "anderlecht1 anderlecht2", (
            ("Rue Wayez", "Wayezstraat"), ("Chaussée de Mons", "Bergensesteenweg"),
            ("Rue de la Clinique", "Kliniekstraat"), ("Rue Brogniez", "Brogniezstraat"),
            ("Avenue Clemenceau", "Clemenceaulaan"),
            ("Boulevard Sylvain Dupuis", "Sylvain Dupuislaan"), ("Rue Eloy", "Eloystraat"),
            ("Place de la Vaillance", "Dapperheidsplein"),
            ("Avenue Marius Renard", "Marius Renardlaan"), ("Rue de Fiennes", "Fiennesstraat"),
        )),
    ), ("Le Foyer Anderlechtois", "Comensia"), "Anderleck"),
    _Commune("21002", "Auderghem", "Oudergem", 22, (
        _area("1160", "auderghem", (
            ("Boulevard du Souverain", "Vorstlaan"), ("Chaussée de Wavre", "Waversesteenweg"),
            ("Avenue Jean Van Horenbeeck", "Jean Van Horenbeecklaan"),
        )),
    ), ("Le Logis-Floréal", "Comensia"), "Audergem"),
    _Commune("21003", "Berchem-Sainte-Agathe", "Sint-Agatha-Berchem", 22, (
        _area("1082", "anderlecht2", (
            ("Avenue du Roi Albert", "Koning Albertlaan"),
            ("Rue de Grand-Bigard", "Groot-Bijgaardenstraat"),
            ("Chaussée de Gand", "Gentsesteenweg"),
        )),
    ), ("Lojega", "Comensia"), "Berchem-Ste-Agate"),
    _Commune("21004", "Bruxelles", "Brussel", 200, (
        _area("1000", "bruxelles1 bruxelles2", (
            ("Rue Haute", "Hoogstraat"), ("Rue Blaes", "Blaesstraat"),
            ("Rue des Tanneurs", "Huidevettersstraat"),
            ("Rue Antoine Dansaert", "Antoine Dansaertstraat"),
            ("Rue de Flandre", "Vlaamsesteenweg"), ("Rue de Laeken", "Lakensestraat"),
            ("Rue du Midi", "Zuidstraat"), ("Rue Rempart des Moines", "Papenvest"),
            ("Boulevard Anspach", "Anspachlaan"), ("Rue des Capucins", "Kapucijnenstraat"),
            ("Rue Van Artevelde", "Van Arteveldestraat"),
            ("Rue d'Anderlecht", "Anderlechtsestraat"), ("Rue du Marais", "Broekstraat"),
        ), 0.62),
        _area("1020", "bruxelles3", (
            ("Place Bockstael", "Bockstaelplein"),
            ("Boulevard Émile Bockstael", "Emile Bockstaellaan"),
            ("Rue Marie-Christine", "Maria-Christinastraat"),
            ("Avenue de la Reine", "Koninginnelaan"), ("Rue Fransman", "Fransmanstraat"),
            ("Rue Champ de l'Église", "Kerkeveldstraat"), ("Rue Stéphanie", "Stefaniastraat"),
            ("Avenue Houba de Strooper", "Houba de Strooperlaan"),
        ), 0.22, ("Laeken", "Laken")),
        _area("1120", "bruxelles4", (
            ("Rue de Heembeek", "Heembeekstraat"), ("Chaussée de Vilvorde", "Vilvoordsesteenweg"),
            ("Rue Bruyn", "Bruynstraat"), ("Rue François Vekemans", "François Vekemansstraat"),
        ), 0.09, ("Neder-Over-Heembeek", "Neder-Over-Heembeek")),
        _area("1130", "bruxelles4", (
            ("Rue de Cortenbach", "Cortenbachstraat"), ("Rue du Pré aux Oies", "Ganzenweidestraat"),
            ("Rue Arthur Maes", "Arthur Maesstraat"),
        ), 0.03, ("Haren", "Haren")),
        _area("1040", "bruxelles2", (
            ("Rue Belliard", "Belliardstraat"), ("Rue Froissart", "Froissartstraat"),
        ), 0.02),
        _area("1050", "bruxelles2", (("Avenue Louise", "Louizalaan"),), 0.02),
    ), ("Le Logement Bruxellois", "Lorebru"), "Brusels"),
    _Commune("21005", "Etterbeek", "Etterbeek", 42, (
        _area("1040", "etterbeek", (
            ("Avenue d'Auderghem", "Oudergemlaan"), ("Rue des Champs", "Veldstraat"),
            ("Chaussée de Wavre", "Waversesteenweg"), ("Avenue de la Chasse", "Jachtlaan"),
            ("Rue Général Leman", "Generaal Lemanstraat"), ("Place Jourdan", "Jourdanplein"),
            ("Rue Louis Hap", "Louis Hapstraat"),
        )),
    ), ("Binhôme",), "Etterbeck"),
    _Commune("21006", "Evere", "Evere", 40, (
        _area("1140", "saint_josse", (
            ("Avenue Henri Conscience", "Henri Consciencelaan"),
            ("Rue Édouard Stuckens", "Edouard Stuckensstraat"),
            ("Avenue Léopold III", "Leopold III-laan"), ("Chaussée de Haecht", "Haachtsesteenweg"),
        )),
    ), ("Everecity", "Ieder Zijn Huis"), "Everre"),
    _Commune("21007", "Forest", "Vorst", 55, (
        _area("1190", "forest", (
            ("Avenue Van Volxem", "Van Volxemlaan"),
            ("Chaussée de Neerstalle", "Neerstallesteenweg"), ("Avenue du Globe", "Globelaan"),
            ("Rue du Croissant", "Halvemaanstraat"),
            ("Boulevard de la Deuxième Armée Britannique", "Britse Tweedelegerlaan"),
            ("Chaussée de Bruxelles", "Brusselsesteenweg"),
        )),
    ), ("Foyer du Sud",), "Forets"),
    _Commune("21008", "Ganshoren", "Ganshoren", 20, (
        _area("1083", "jette", (
            ("Avenue Charles-Quint", "Keizer Karellaan"),
            ("Avenue Jacques Sermon", "Jacques Sermonlaan"),
            ("Avenue Van Overbeke", "Van Overbekelaan"),
        )),
    ), ("Lojega",), "Ganshooren"),
    _Commune("21009", "Ixelles", "Elsene", 75, (
        _area("1050", "ixelles", (
            ("Chaussée d'Ixelles", "Elsensesteenweg"), ("Rue Gray", "Graystraat"),
            ("Rue du Trône", "Troonstraat"), ("Rue Malibran", "Malibranstraat"),
            ("Chaussée de Boondael", "Boondaalsesteenweg"), ("Rue Washington", "Washingtonstraat"),
            ("Rue Mercelis", "Mercelisstraat"), ("Chaussée de Vleurgat", "Vleurgatsesteenweg"),
            ("Rue de la Brasserie", "Brouwerijstraat"),
        )),
    ), ("Binhôme",), "Ixelle"),
    _Commune("21010", "Jette", "Jette", 50, (
        _area("1090", "jette", (
            ("Rue Léopold Ier", "Leopold I-straat"),
            ("Boulevard de Smet de Naeyer", "De Smet de Naeyerlaan"),
            ("Place Reine Astrid", "Koningin Astridplein"),
            ("Rue Ferdinand Lenoir", "Ferdinand Lenoirstraat"), ("Avenue de Jette", "Jetselaan"),
            ("Rue Bonaventure", "Bonaventurestraat"),
        )),
    ), ("Lojega",), "Jete"),
    _Commune("21011", "Koekelberg", "Koekelberg", 22, (
        _area("1081", "jette", (
            ("Rue Herkoliers", "Herkoliersstraat"), ("Avenue du Panthéon", "Pantheonlaan"),
            ("Place Simonis", "Simonisplein"),
            ("Avenue de Berchem-Sainte-Agathe", "Sint-Agatha-Berchemlaan"),
        )),
    ), ("Lojega",), "Koekelburg"),
    _Commune("21012", "Molenbeek-Saint-Jean", "Sint-Jans-Molenbeek", 110, (
        _area("1080", "molenbeek", (
            ("Boulevard du Jubilé", "Jubelfeestlaan"), ("Chaussée de Gand", "Gentsesteenweg"),
            ("Rue de Ribaucourt", "Ribaucourtstraat"), ("Rue Heyvaert", "Heyvaertstraat"),
            ("Rue des Quatre-Vents", "Vierwindenstraat"),
            ("Chaussée de Ninove", "Ninoofsesteenweg"),
            ("Rue de l'Intendant", "Intendantstraat"), ("Rue Piers", "Piersstraat"),
            ("Rue Osseghem", "Osseghemstraat"),
            ("Rue Comte de Flandre", "Graaf van Vlaanderenstraat"),
        )),
    ), ("Le Logement Molenbeekois",), "Molenbeck"),
    _Commune("21013", "Saint-Gilles", "Sint-Gillis", 55, (
        _area("1060", "saint_gilles", (
            ("Chaussée de Waterloo", "Waterloosesteenweg"), ("Rue de Mérode", "Merodestraat"),
            ("Avenue du Parc", "Parklaan"),
            ("Rue Théodore Verhaegen", "Théodore Verhaegenstraat"),
            ("Chaussée de Forest", "Vorstsesteenweg"), ("Rue de la Victoire", "Overwinningsstraat"),
            ("Rue de Danemark", "Denemarkenstraat"), ("Avenue Jean Volders", "Jean Volderslaan"),
        )),
    ), ("Foyer du Sud",), "Sint-Gilis"),
    _Commune("21014", "Saint-Josse-ten-Noode", "Sint-Joost-ten-Node", 35, (
        _area("1210", "saint_josse", (
            ("Chaussée de Louvain", "Leuvensesteenweg"), ("Rue de la Poste", "Poststraat"),
            ("Rue des Deux Églises", "Tweekerkenstraat"),
            ("Rue Saint-François", "Sint-Franciscusstraat"), ("Rue Traversière", "Dwarsstraat"),
            ("Place Saint-Josse", "Sint-Joostplein"), ("Rue Verte", "Groenstraat"),
        )),
    ), ("Comensia",), "Saint-Joss"),
    _Commune("21015", "Schaerbeek", "Schaarbeek", 140, (
        _area("1030", "schaerbeek", (
            ("Rue Josaphat", "Josaphatstraat"), ("Chaussée de Haecht", "Haachtsesteenweg"),
            ("Rue Royale Sainte-Marie", "Koninklijke Sint-Mariastraat"),
            ("Avenue Rogier", "Rogierlaan"), ("Rue de Brabant", "Brabantstraat"),
            ("Chaussée d'Helmet", "Helmetsesteenweg"), ("Rue Gallait", "Gallaitstraat"),
            ("Rue des Palais", "Paleizenstraat"), ("Boulevard Lambermont", "Lambermontlaan"),
            ("Rue de Jérusalem", "Jeruzalemstraat"),
            ("Avenue Louis Bertrand", "Louis Bertrandlaan"),
        )),
    ), ("Le Foyer Schaerbeekois",), "Schaerbeck"),
    _Commune("21016", "Uccle", "Ukkel", 50, (
        _area("1180", "uccle", (
            ("Chaussée d'Alsemberg", "Alsembergsesteenweg"),
            ("Rue Vanderkindere", "Vanderkinderestraat"),
            ("Chaussée de Waterloo", "Waterloosesteenweg"), ("Avenue De Fré", "De Frélaan"),
            ("Rue de Stalle", "Stallestraat"), ("Chaussée de Saint-Job", "Sint-Jobsesteenweg"),
        )),
    ), ("Comensia",), "Uccel"),
    _Commune("21017", "Watermael-Boitsfort", "Watermaal-Bosvoorde", 15, (
        _area("1170", "auderghem", (
            ("Chaussée de La Hulpe", "Terhulpsesteenweg"), ("Place Keym", "Keymplein"),
            ("Rue Middelbourg", "Middelburgstraat"), ("Avenue des Archiducs", "Aartshertogenlaan"),
        )),
    ), ("Le Logis-Floréal",), "Watremael"),
    _Commune("21018", "Woluwe-Saint-Lambert", "Sint-Lambrechts-Woluwe", 35, (
        _area("1200", "woluwe", (
            ("Avenue Georges Henri", "Georges Henrilaan"),
            ("Avenue Paul Hymans", "Paul Hymanslaan"), ("Rue Tomberg", "Tombergstraat"),
            ("Chaussée de Stockel", "Stokkelsesteenweg"),
            ("Boulevard Brand Whitlock", "Brand Whitlocklaan"),
        )),
    ), ("Log'Iris",), "Woluwé-Lambert"),
    _Commune("21019", "Woluwe-Saint-Pierre", "Sint-Pieters-Woluwe", 22, (
        _area("1150", "woluwe", (
            ("Avenue de Tervueren", "Tervurenlaan"), ("Rue au Bois", "Bosstraat"),
            ("Avenue Orban", "Orbanlaan"),
        )),
    ), ("Log'Iris",), "Woluwe-St-Piere"),
)  # fmt: skip

#: postcode -> the municipality names (FR, NL, commune sections) that route it with certainty
BRUSSELS_POSTCODES: dict[str, frozenset[str]] = {}
#: municipality name (FR, NL or section) -> NIS code of the commune
COMMUNE_NAMES: dict[str, str] = {}
for _c in _COMMUNES:
    COMMUNE_NAMES[_c.fr] = COMMUNE_NAMES[_c.nl] = _c.nis
    for _a in _c.areas:
        _names = {_c.fr, _c.nl, *(_a.section or ())}
        COMMUNE_NAMES.update(dict.fromkeys(_names, _c.nis))
        BRUSSELS_POSTCODES[_a.postcode] = BRUSSELS_POSTCODES.get(_a.postcode, frozenset()) | _names
del _c, _a, _names

# Addresses just outside the region (a tenant who moved, a landlord living elsewhere).
_OUTSIDE: tuple[tuple[str, str, str], ...] = (
    ("1700", "Dilbeek", "Ninoofsesteenweg"), ("1800", "Vilvoorde", "Leuvensestraat"),
    ("1930", "Zaventem", "Leuvensesteenweg"), ("1600", "Sint-Pieters-Leeuw", "Bergensesteenweg"),
    ("1410", "Waterloo", "Chaussée de Bruxelles"), ("1780", "Wemmel", "Frans Robbrechtsstraat"),
    ("1640", "Rhode-Saint-Genèse", "Chaussée de Waterloo"), ("2000", "Antwerpen", "Meir"),
    ("1300", "Wavre", "Rue du Commerce"), ("9000", "Gent", "Kortrijksesteenweg"),
)  # fmt: skip

# Tenants' first and last names by background; weight; P(nl), P(fr) (rest: unknown).
_NAME_GROUPS: tuple[tuple[float, float, float, tuple[str, ...], tuple[str, ...]], ...] = (
    (0.24, 0.125, 0.72,  # Belgian, French-speaking
     ("Jean", "Marie", "Nathalie", "Christophe", "Sophie", "Michel", "Isabelle", "Philippe",
      "Julie", "Thomas", "Françoise", "Chantal", "Kevin", "Laetitia", "Sébastien", "Valérie",
      "Jordan", "Océane", "Dylan", "Manon"),
     ("Dubois", "Lambert", "Dupont", "Martin", "Leclercq", "Simon", "Laurent", "Lejeune",
      "Renard", "Lemaire", "Dumont", "François", "Delvaux", "Masson", "Collignon", "Goffin",
      "Dethier", "Servais", "Noël", "Vandermeulen")),
    (0.10, 0.85, 0.05,  # Belgian, Dutch-speaking
     ("Jan", "Els", "Pieter", "An", "Koen", "Sofie", "Bart", "Annelies", "Tom", "Lieve", "Dirk",
      "Katrien", "Wim", "Hilde", "Jeroen", "Griet", "Jens", "Lotte"),
     ("Peeters", "Janssens", "Maes", "Jacobs", "Mertens", "Willems", "Claes", "Goossens",
      "Wouters", "De Smet", "Van den Broeck", "Vermeulen", "De Backer", "Van Damme",
      "Verstraeten", "Hermans", "Vandenberghe", "De Vos")),
    (0.24, 0.125, 0.72,  # Moroccan
     ("Mohamed", "Fatima", "Ahmed", "Khadija", "Youssef", "Nadia", "Rachid", "Amina", "Karim",
      "Samira", "Hamza", "Imane", "Bilal", "Sara", "Nordin", "Malika", "Said", "Latifa",
      "Ayoub", "Meryem"),
     ("El Idrissi", "El Amrani", "Benali", "Bouzid", "El Khattabi", "Azzouzi", "Boukhari",
      "Ait Ben Ali", "El Hamdaoui", "Aouad", "Bennani", "Tahiri", "Chakir", "El Mahi", "Ouali",
      "Lamrabet", "Haddouchi", "Ziani", "Abdellaoui", "Ben Hammou")),
    (0.07, 0.125, 0.72,  # Turkish
     ("Mehmet", "Ayse", "Fatma", "Emre", "Hatice", "Mustafa", "Elif", "Murat", "Zeynep",
      "Hakan", "Emine", "Yusuf"),
     ("Yilmaz", "Kaya", "Demir", "Çelik", "Öztürk", "Aydin", "Arslan", "Dogan", "Kiliç",
      "Yildiz", "Koç", "Sahin")),
    (0.10, 0.125, 0.72,  # Congolese
     ("Grâce", "Patient", "Merveille", "Divine", "Jonathan", "Christelle", "Blaise", "Exaucé",
      "Gloire", "Nadège", "Trésor", "Jolie"),
     ("Mukendi", "Kabongo", "Tshibangu", "Ilunga", "Kalonji", "Mbuyi", "Lukusa", "Nzuzi",
      "Mutombo", "Kasongo", "Mbala", "Tshimanga")),
    (0.05, 0.125, 0.72,  # Polish
     ("Katarzyna", "Agnieszka", "Piotr", "Tomasz", "Marta", "Pawel", "Anna", "Krzysztof",
      "Magdalena", "Marcin"),
     ("Kowalski", "Nowak", "Wójcik", "Kaminska", "Lewandowski", "Zielinska", "Szymanski",
      "Wozniak", "Dabrowska", "Kowalczyk")),
    (0.07, 0.125, 0.72,  # Romanian
     ("Andrei", "Elena", "Ioana", "Mihai", "Florin", "Gabriela", "Cristina", "Vasile",
      "Alexandru", "Maria"),
     ("Popescu", "Ionescu", "Stan", "Dumitru", "Constantin", "Munteanu", "Radu", "Marin",
      "Stoica", "Gheorghe")),
    (0.07, 0.125, 0.72,  # Italian, Spanish, Portuguese
     ("Giuseppe", "Francesca", "Antonio", "Maria", "José", "Ana", "Manuel", "Carmen", "Luca",
      "Rosa", "João", "Inês"),
     ("Russo", "Esposito", "Rossi", "Silva", "Santos", "Ferreira", "Pereira", "Garcia",
      "Fernández", "López", "Martínez", "Costa")),
    (0.06, 0.125, 0.72,  # Syrian, Afghan, Guinean, Cameroonian, Albanian…
     ("Omar", "Layla", "Ahmad", "Mariam", "Mamadou", "Aissatou", "Ibrahima", "Fatoumata",
      "Arben", "Elira", "Hassan", "Nour"),
     ("Al-Hassan", "Haidari", "Rahimi", "Diallo", "Bah", "Barry", "Sow", "Ngono", "Mbarga",
      "Hoxha", "Krasniqi", "Al-Khatib")),
)  # fmt: skip

_MOBILE_PREFIXES = (
    "460", "465", "466", "467", "468", "470", "471", "472", "473", "474", "475", "476", "477",
    "478", "479", "483", "484", "485", "486", "487", "488", "489", "490", "491", "492", "493",
    "494", "495", "496", "497", "498", "499",
)  # fmt: skip
_MAIL_DOMAINS = ("gmail.com", "hotmail.com", "outlook.be", "skynet.be", "yahoo.fr", "telenet.be",
                 "hotmail.be", "live.be")  # fmt: skip
_BOXES = ("1", "2", "3", "4", "5", "6", "1", "2", "A", "B", "RC", "0")

_COMPANY_ROOTS = (
    "Josaphat", "Louise", "Midi", "Anspach", "Flagey", "Meiser", "Bockstael", "Clemenceau",
    "Simonis", "Rogier", "Brugmann", "Stéphanie", "Dansaert", "Jourdan", "Montgomery", "Horta",
    "Lemonnier", "Van Praet", "Sainctelette", "Ribaucourt",
)  # fmt: skip
_COMPANY_FR = ("Immo {} SRL", "{} Invest SA", "Résidence {} SRL", "Immobilière {} SA",
               "Patrimoine {} SRL", "Gestion {} SRL")  # fmt: skip
_COMPANY_NL = ("BV Residentie {}", "{} Vastgoed BV", "NV Immo {}", "Immo {} BV")
_AGENCIES = ("AIS Baita", "AIS Quartiers", "AIS Logement pour Tous", "AIS Comme chez Toi",
             "AIS Théodore Verhaegen", "SVK Woonkans", "AIS Iris", "AIS Le Relais")  # fmt: skip
_LANDLORD_KINDS = ("private", "company", "social_housing", "social_rental_agency", "public")
_LANDLORD_CUM = tuple(accumulate((0.42, 0.22, 0.20, 0.09, 0.07)))

_HEARING_TIMES = ("09:00", "09:00", "09:00", "09:15", "09:30", "09:30", "09:45", "10:00",
                  "10:00", "10:30", "11:00", "11:30")  # fmt: skip
_EVICTION_TIMES = ("08:00", "08:30", "09:00", "09:00", "09:30", "10:00")

# New cases: the kind of their first notice, and its share.
_START_KINDS = ("petition", "summons", "judgment", "eviction_notice")
_START_SHARES = (0.80, 0.10, 0.07, 0.03)

#: the flaws that must send a record to quarantine, taken in turn
FLAW_KINDS = ("missing_docket", "missing_last_name", "impossible_date", "not_a_date",
              "unknown_kind", "amount_in_words")  # fmt: skip
_TRIAGE_KINDS = ("conflict", "misspelt", "outside")

_UNKNOWN_KIND = {
    "petition": ("requete", "verzoekschrift"), "summons": ("citation", "dagvaarding"),
    "judgment": ("vonnis", "jugement"), "eviction_notice": ("expulsion", "uithuiszetting"),
    "objection": ("opposition", "verzet"),
}  # fmt: skip
_NOT_A_DATE = ("bientôt", "à fixer", "nog te bepalen", "binnenkort", "voir convocation")
_AMOUNT_IN_WORDS = ("deux mille", "tweeduizend", "trois mille cinq cents", "voir annexe")
_DATE_FIELD = {"petition": "filed_on", "summons": "served_on", "judgment": "judgment_on",
               "eviction_notice": "notified_on"}  # fmt: skip
_WHEN_FIELD = {"petition": "hearing_at", "summons": "hearing_at", "eviction_notice": "eviction_at"}

#: CONTRACT.md "Notice (CSV)": the columns, in order
CSV_COLUMNS: tuple[str, ...] = (
    "kind", "court", "docket_number", "received_on", "filed_on", "served_on", "hearing_at",
    "judgment_on", "notified_on", "eviction_at", "moratorium_lifted",
    "tenant_first_name", "tenant_last_name", "tenant_language", "tenant_phone", "tenant_email",
    "tenant_birth_date", "dwelling_street", "dwelling_number", "dwelling_box",
    "dwelling_postcode", "dwelling_municipality", "landlord_name", "landlord_kind",
    "landlord_street", "landlord_number", "landlord_postcode", "landlord_municipality",
    "landlord_email", "arrears_eur", "monthly_rent_eur",
)  # fmt: skip

# --------------------------------------------------------------------------------------------
# Calendar (DESIGN.md: ten legal holidays; working day = Monday-Friday, no legal holiday)
# --------------------------------------------------------------------------------------------

_DAY = timedelta(days=1)
_CALENDAR = BelgianCalendar()
_MORATORIUM = region_rules("brussels").moratorium
_is_working = _CALENDAR.is_working_day
_next_working = _CALENDAR.next_working_day
_previous_working = _CALENDAR.previous_working_day


def _add_working(day: date, n: int) -> date:
    return _CALENDAR.add_working_days(day, n, internal=False)


def _add_month(day: date) -> date:
    return add_months(day, 1)


def _in_moratorium(day: date) -> bool:
    assert _MORATORIUM is not None
    return _MORATORIUM.covers(day)


# --------------------------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------------------------


def _of(name: str) -> str:
    """French "de Schaerbeek", "d'Ixelles"."""
    return f"d'{name}" if name[0] in "AEIOUÉ" else f"de {name}"


def _euros(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


@lru_cache(maxsize=4096)
def _mail_part(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return ascii_name.lower().replace(" ", "").replace("'", "")


class _Rng(Random):
    """random.Random with a quicker randint (the stream needs millions of small draws)."""

    def randint(self, a: int, b: int) -> int:
        return a + int(self.random() * (b - a + 1))


class _Quota:
    """Spreads `share` of `count` slots over the stream: one hit somewhere in each block.

    At least `minimum` hits when the share allows any; the last tenth of a short stream (at
    most 5 slots) gets no new hit, so a hit that has to wait for a fitting record still lands.
    """

    def __init__(self, rng: Random, share: float, count: int, minimum: int) -> None:
        self._next = -1
        if share <= 0 or count <= 0:
            return
        hits = min(float(count), max(share * count, float(minimum)))
        horizon = count - min(count // 10, 5)
        self._rng = rng
        self._block = horizon / hits
        self._k = 0
        self._next = self._hit_in_block(0)

    def _hit_in_block(self, k: int) -> int:
        return int((k + self._rng.random()) * self._block)

    def hits(self, slot: int) -> int:
        found = 0
        while self._next == slot:
            found += 1
            self._k += 1
            self._next = self._hit_in_block(self._k)
        return found


class _Case:
    """One procedure (court + docket) as the generator knows it."""

    __slots__ = ("court", "docket", "lang", "tenant", "dwelling", "landlord", "arrears",
                 "rent", "filed", "hearing", "first_kind", "first_dates",
                 "first_flawed")  # fmt: skip

    def __init__(self) -> None:
        self.first_flawed = False


class _Generator:
    """The stream: `count` receipt slots over the window's working days; each slot holds a
    re-send, a follow-up that has come due, or the first notice of a new case."""

    def __init__(self, count: int, seed: int, start: date, days: int, flawed_share: float,
                 triage_share: float) -> None:  # fmt: skip
        self.rng = rng = _Rng(seed)
        self.count = count
        self.end = start + timedelta(days=days)
        calendar = [start + timedelta(days=i) for i in range(days)]
        self.days = [d for d in calendar if _is_working(d)] or calendar
        # Some days bring more mail than others (Mondays most).
        weights = [(0.7 + 0.6 * rng.random()) * (1.3 if d.weekday() == 0 else 1.0)
                   for d in self.days]  # fmt: skip
        self.day_cum = list(accumulate(weights))
        # Places: commune weight x share of its postcode area.
        self.areas = [(c, a) for c in _COMMUNES for a in c.areas]
        self.area_cum = list(accumulate(c.weight * a.share for c, a in self.areas))
        self.group_cum = list(accumulate(g[0] for g in _NAME_GROUPS))
        self.flaws = _Quota(rng, flawed_share, count, 2)
        self.triage = _Quota(rng, triage_share, count, 1)
        self.resends = _Quota(rng, 0.03, count, 2)
        self.extras = _Quota(rng, 0.008, count, 1)
        self.flaw_turn = deque(rng.sample(FLAW_KINDS, len(FLAW_KINDS)))
        self.triage_turn = deque(rng.sample(_TRIAGE_KINDS, len(_TRIAGE_KINDS)))
        # A random phase for each kind, the rare ones coming within the first 20 new cases.
        self.start_credit = [max(0.0, 1.0 - 20 * share * rng.random()) for share in _START_SHARES]
        self.dockets: dict[tuple[str, int], int] = {}
        self.pending: list[tuple[date, int, str, _Case, tuple[Any, ...]]] = []
        self.seq = 0
        self.recent: deque[tuple[date, list[dict[str, Any]], list[int]]] = deque()

    # -- the stream ----------------------------------------------------------------------

    def run(self) -> Iterator[dict[str, Any]]:
        count, day_cum, days = self.count, self.day_cum, self.days
        total = day_cum[-1] if day_cum else 0.0
        pending = self.pending
        owed_flaws = owed_triage = owed_resends = owed_extras = 0
        triage = False
        for slot in range(count):
            today = days[min(bisect_left(day_cum, (slot + 0.5) * total / count), len(days) - 1)]
            owed_flaws += self.flaws.hits(slot)
            owed_triage += self.triage.hits(slot)
            owed_resends += self.resends.hits(slot)
            owed_extras += self.extras.hits(slot)
            self._forget_before(today - timedelta(days=4))
            if owed_resends and (record := self._resend(today)) is not None:
                owed_resends -= 1
                yield record
                continue
            if pending and pending[0][0] <= today:
                _, _, kind, case, dates = heapq.heappop(pending)
                record = self._follow_up(kind, case, dates, today)
                first = False
            else:
                triage = owed_triage > 0
                case = self._new_case(today, triage=triage)
                owed_triage -= triage
                record = self._notice(case.first_kind, case, case.first_dates, today)
                first = True
            if owed_extras and record["kind"] in ("petition", "judgment"):
                owed_extras -= 1
                record["registry_reference"] = f"R/{today.year}/{self.rng.randint(100, 9999):04d}"
            if owed_flaws and not (first and triage):  # one thing wrong a record
                owed_flaws -= 1
                self._flaw(record)
                if first:
                    case.first_flawed = True
            self._remember(today, record)
            yield record

    # -- re-sends ------------------------------------------------------------------------

    def _remember(self, today: date, record: dict[str, Any]) -> None:
        recent = self.recent
        if not recent or recent[-1][0] != today:
            recent.append((today, [], [0]))
        _, kept, seen = recent[-1]
        seen[0] += 1
        if len(kept) < 24:
            kept.append(record)
        else:  # reservoir sampling: every record of the day equally likely to be re-sent
            j = int(self.rng.random() * seen[0])
            if j < 24:
                kept[j] = record

    def _forget_before(self, oldest: date) -> None:
        while self.recent and self.recent[0][0] < oldest:
            self.recent.popleft()

    def _resend(self, today: date) -> dict[str, Any] | None:
        earlier = [kept for day, kept, _ in self.recent if day < today and kept]
        if not earlier:
            return None
        kept = earlier[int(self.rng.random() * len(earlier))]
        original = kept[int(self.rng.random() * len(kept))]
        copy = {k: dict(v) if type(v) is dict else v for k, v in original.items()}
        copy["received_on"] = today.isoformat()
        return copy

    # -- cases ---------------------------------------------------------------------------

    def _start_kind(self) -> str:
        """Smooth weighted round robin with a little noise: shares hold even in short runs."""
        credit, rnd = self.start_credit, self.rng.random
        best, best_score = 0, -1e9
        for i, share in enumerate(_START_SHARES):
            credit[i] += share
            score = credit[i] + 0.5 * rnd()
            if score > best_score:
                best, best_score = i, score
        credit[best] -= 1.0
        return _START_KINDS[best]

    def _docket(self, court: str, filed: date) -> str:
        key = (court, filed.year)
        number = self.dockets.get(key)
        if number is None:
            number = 1 + (filed.timetuple().tm_yday - 1) * 9 + self.rng.randint(0, 60)
        number += self.rng.randint(1, 9)  # the registry's other cases in between
        self.dockets[key] = number
        return f"{filed.year % 100:02d}A{number}"

    def _new_case(self, today: date, *, triage: bool) -> _Case:
        rng = self.rng
        r = rng.random
        case = _Case()
        commune, area = self.areas[bisect_left(self.area_cum, r() * self.area_cum[-1])]
        tenant, lang = self._tenant(today)
        case.lang = lang or ("fr" if r() < 0.8 else "nl")
        nl = case.lang == "nl"
        court = area.courts[int(r() * len(area.courts))]
        case.court = _COURTS[court][1 if nl else 0]
        case.tenant = tenant
        case.dwelling = self._dwelling(commune, area, nl)
        case.landlord, social = self._landlord(commune, area, nl)
        rent = (45000 + int(r() * 25000)) if social else (55000 + int(r() * 75000))
        rent = rent - rent % 500 if r() < 0.7 else rent
        case.rent = rent
        months = 1 + int(r() ** 1.4 * 9.5)
        arrears = months * rent - int(r() * 0.6 * rent) + int(r() * 100)
        case.arrears = min(1_200_000, max(50_000 + int(r() * 20_000), arrears))
        if triage:
            self._make_triage(case, commune, area)

        kind = self._start_kind()
        case.first_kind = kind
        if kind == "petition":
            filed = today - timedelta(days=rng.randint(3, 6))
            early = r() < 0.06
            gap = rng.randint(30, 36) if early else rng.randint(40, 60)
            hearing = _next_working(filed + timedelta(days=gap))
            case.filed, case.hearing = filed, hearing
            case.docket = self._docket(court, filed)
            case.first_dates = (filed, hearing, _HEARING_TIMES[int(r() * 12)])
            self._plan(case, today, hearing, petition=True)
        elif kind == "summons":
            served = _previous_working(today - timedelta(days=rng.randint(1, 4)))
            hearing = _next_working(served + timedelta(days=rng.randint(40, 60)))
            case.filed, case.hearing = served, hearing
            case.docket = self._docket(court, served - timedelta(days=rng.randint(2, 10)))
            case.first_dates = (served, hearing, _HEARING_TIMES[int(r() * 12)])
            self._plan(case, today, hearing, petition=False)
        elif kind == "judgment":
            served = _previous_working(today - timedelta(days=rng.randint(1, 5)))
            judged = _previous_working(served - timedelta(days=rng.randint(2, 14)))
            lifted = r() < 0.1
            case.filed, case.hearing = None, None
            case.docket = self._docket(court, judged - timedelta(days=rng.randint(40, 80)))
            case.first_dates = (judged, served, lifted)
            if r() < 0.45:
                self._plan_eviction(case, served, lifted)
        else:
            notified = _previous_working(today - timedelta(days=rng.randint(1, 4)))
            case.filed, case.hearing = None, None
            case.docket = self._docket(court, notified - timedelta(days=rng.randint(90, 150)))
            case.first_dates = self._eviction_dates(notified, None, False)
        return case

    def _tenant(self, today: date) -> tuple[dict[str, Any], str | None]:
        r = self.rng.random
        _, p_nl, p_fr, firsts, lasts = _NAME_GROUPS[
            bisect_left(self.group_cum, r() * self.group_cum[-1])
        ]
        first, last = firsts[int(r() * len(firsts))], lasts[int(r() * len(lasts))]
        x = r()
        lang = "nl" if x < p_nl else "fr" if x < p_nl + p_fr else None
        phone = None
        if r() < 0.5:
            digits = f"{int(r() * 1_000_000):06d}"
            prefix = _MOBILE_PREFIXES[int(r() * len(_MOBILE_PREFIXES))]
            if r() < 0.8:
                phone = f"+32 {prefix} {digits[:2]} {digits[2:4]} {digits[4:]}"
            else:
                phone = f"0{prefix} {digits[:2]} {digits[2:4]} {digits[4:]}"
        email = None
        if r() < 0.15:
            user = f"{_mail_part(first)}.{_mail_part(last)}"
            if r() < 0.4:
                user += str(int(r() * 99) + 1)
            email = f"{user}@{_MAIL_DOMAINS[int(r() * len(_MAIL_DOMAINS))]}"
        birth = None
        if r() < 0.9:
            age_days = int((19 + (r() + r() + r()) / 3 * 62) * 365.25)
            birth = (today - timedelta(days=age_days)).isoformat()
        tenant = {"first_name": first, "last_name": last, "language": lang, "phone": phone,
                  "email": email, "birth_date": birth}  # fmt: skip
        return tenant, lang

    def _address_number(self) -> str:
        r = self.rng.random
        number = str(1 + int(r() ** 1.6 * 220))
        x = r()
        return number + ("A" if x < 0.03 else "bis" if x < 0.05 else "")

    def _dwelling(self, commune: _Commune, area: _Area, nl: bool) -> dict[str, Any]:
        r = self.rng.random
        if r() < 0.12:
            nl = not nl  # the address as the landlord wrote it
        street = area.streets[int(r() * len(area.streets))][1 if nl else 0]
        if area.section is not None and r() < 0.4:
            municipality = area.section[1 if nl else 0]
        elif commune.fr != commune.nl and r() < 0.04:
            municipality = f"{commune.fr}/{commune.nl}"
        else:
            municipality = commune.nl if nl else commune.fr
        box = _BOXES[int(r() * len(_BOXES))] if r() < 0.35 else None
        return {"street": street, "number": self._address_number(), "box": box,
                "postcode": area.postcode, "municipality": municipality}  # fmt: skip

    def _landlord(self, commune: _Commune, area: _Area,
                  nl: bool) -> tuple[dict[str, Any], bool]:  # fmt: skip
        r = self.rng.random
        which = _LANDLORD_KINDS[bisect_left(_LANDLORD_CUM, r() * _LANDLORD_CUM[-1])]
        kind, email = which, None
        # Where the landlord's address is: own commune, elsewhere in Brussels, or outside.
        home_commune, home_area = commune, area
        if which == "private":
            group = (
                _NAME_GROUPS[0 if not nl else 1]
                if r() < 0.7
                else _NAME_GROUPS[bisect_left(self.group_cum, r() * self.group_cum[-1])]
            )
            name = f"{group[3][int(r() * len(group[3]))]} {group[4][int(r() * len(group[4]))]}"
            if r() < 0.12:
                email = f"{_mail_part(name.split()[0])}.{_mail_part(name.split()[-1])}@gmail.com"
        elif which == "company":
            kind = "private"
            root = _COMPANY_ROOTS[int(r() * len(_COMPANY_ROOTS))]
            forms = _COMPANY_NL if nl else _COMPANY_FR
            name = forms[int(r() * len(forms))].format(root)
            if r() < 0.6:
                email = f"gestion@{_mail_part(root).replace('-', '')}-immo.be"
        elif which == "social_housing":
            name = commune.social_housing[int(r() * len(commune.social_housing))]
            email = f"contentieux@{_mail_part(name).replace('-', '')}.brussels"
        elif which == "social_rental_agency":
            if r() < 0.3:
                name = f"SVK {commune.nl}" if nl else f"AIS {commune.fr}"
            else:
                name = _AGENCIES[int(r() * len(_AGENCIES))]
            email = f"info@{_mail_part(name).replace('-', '')}.be"
        else:
            x = r()
            if x < 0.5:
                name = f"OCMW {commune.nl}" if nl else f"CPAS {_of(commune.fr)}"
            elif commune.nis == "21004":
                name = (
                    "Grondregie van de Stad Brussel"
                    if nl
                    else "Régie foncière de la Ville de Bruxelles"
                )
            elif x < 0.8:
                name = f"Grondregie {commune.nl}" if nl else f"Régie foncière {_of(commune.fr)}"
            else:
                name = (
                    "Woningfonds van het Brussels Hoofdstedelijk Gewest"
                    if nl
                    else "Fonds du Logement de la Région de Bruxelles-Capitale"
                )
            email = None
        if which in ("private", "company") and r() < 0.6:
            if which == "private" and r() < 0.35:
                postcode, municipality, street = _OUTSIDE[int(r() * len(_OUTSIDE))]
                return {"name": name, "kind": kind, "street": street,
                        "number": self._address_number(), "postcode": postcode,
                        "municipality": municipality, "email": email}, False  # fmt: skip
            home_commune, home_area = self.areas[
                bisect_left(self.area_cum, r() * self.area_cum[-1])
            ]
        street = home_area.streets[int(r() * len(home_area.streets))][1 if nl else 0]
        return {"name": name, "kind": kind, "street": street, "number": self._address_number(),
                "postcode": home_area.postcode,
                "municipality": home_commune.nl if nl else home_commune.fr,
                "email": email}, which == "social_housing"  # fmt: skip

    def _make_triage(self, case: _Case, commune: _Commune, area: _Area) -> None:
        turn = self.triage_turn
        kind = turn[0]
        turn.rotate(-1)
        dwelling = case.dwelling
        postcode = area.postcode
        if kind == "conflict":
            allowed = BRUSSELS_POSTCODES[postcode]
            others = [c for c in _COMMUNES if c.fr not in allowed]
            other = others[int(self.rng.random() * len(others))]
            dwelling["municipality"] = other.nl if case.lang == "nl" else other.fr
        elif kind == "misspelt":
            dwelling["municipality"] = commune.misspelt
        else:
            postcode, municipality, street = _OUTSIDE[int(self.rng.random() * 6)]
            dwelling.update(street=street, postcode=postcode, municipality=municipality)

    # -- follow-ups ------------------------------------------------------------------------

    def _push(self, due: date, kind: str, case: _Case, dates: tuple[Any, ...]) -> None:
        if due < self.end:
            self.seq += 1
            heapq.heappush(self.pending, (due, self.seq, kind, case, dates))

    def _plan(self, case: _Case, today: date, hearing: date, *, petition: bool) -> None:
        rng = self.rng
        r = rng.random
        if r() < 0.02:
            self._push(today + timedelta(days=rng.randint(2, 6)), "objection", case, ())
        lead = (hearing - today).days
        if petition and lead >= 12 and r() < 0.08:
            due = today + timedelta(days=rng.randint(7, lead - 3))
            hearing = _next_working(hearing + timedelta(days=rng.randint(14, 56)))
            self._push(due, "petition", case, (case.filed, hearing, _HEARING_TIMES[int(r() * 12)]))
        if r() < 0.55:
            judged = _next_working(hearing + timedelta(days=rng.randint(1, 30)))
            served = _next_working(judged + timedelta(days=rng.randint(3, 12)))
            lifted = r() < 0.1
            self._push(served + timedelta(days=rng.randint(1, 5)), "judgment", case,
                       (judged, served, lifted))  # fmt: skip
            if r() < 0.45:
                self._plan_eviction(case, served, lifted)

    def _plan_eviction(self, case: _Case, served: date, lifted: bool) -> None:
        rng = self.rng
        notified = _next_working(served + timedelta(days=rng.randint(5, 30)))
        self._push(notified + timedelta(days=rng.randint(1, 4)), "eviction_notice", case,
                   self._eviction_dates(notified, served, lifted))  # fmt: skip

    def _eviction_dates(self, notified: date, served: date | None,
                        lifted: bool) -> tuple[date, date, str]:  # fmt: skip
        rng = self.rng
        short = rng.random() < 0.10  # the bailiff gives less than 15 working days
        if short:
            eviction = _add_working(notified, rng.randint(6, 14))
        else:
            eviction = _add_working(notified, 15 + rng.randint(0, 12))
            if served is not None:
                earliest = _next_working(_add_month(served)) + _DAY
                if eviction < earliest:
                    eviction = _next_working(earliest + timedelta(days=rng.randint(0, 10)))
        # Most bailiffs wait for the end of the winter moratorium; some do not.
        if not lifted and _in_moratorium(eviction) and rng.random() < (0.5 if short else 0.8):
            year = eviction.year if eviction.month <= 3 else eviction.year + 1
            eviction = _next_working(date(year, 3, 16) + timedelta(days=rng.randint(0, 14)))
        return notified, eviction, _EVICTION_TIMES[int(rng.random() * len(_EVICTION_TIMES))]

    def _follow_up(self, kind: str, case: _Case, dates: tuple[Any, ...],
                   today: date) -> dict[str, Any]:  # fmt: skip
        record = self._notice(kind, case, dates, today)
        # The docket is known: the address may be left out.
        if (kind in ("judgment", "eviction_notice", "objection") and not case.first_flawed
                and self.rng.random() < 0.2):  # fmt: skip
            del record["dwelling"]
        return record

    # -- records -------------------------------------------------------------------------

    def _notice(self, kind: str, case: _Case, dates: tuple[Any, ...],
                today: date) -> dict[str, Any]:  # fmt: skip
        record: dict[str, Any] = {"kind": kind, "court": case.court,
                                  "docket_number": case.docket,
                                  "received_on": today.isoformat()}  # fmt: skip
        if kind == "petition":
            record["filed_on"] = dates[0].isoformat()
            record["hearing_at"] = f"{dates[1].isoformat()}T{dates[2]}:00"
        elif kind == "summons":
            record["served_on"] = dates[0].isoformat()
            record["hearing_at"] = f"{dates[1].isoformat()}T{dates[2]}:00"
        elif kind == "judgment":
            record["judgment_on"] = dates[0].isoformat()
            record["served_on"] = dates[1].isoformat()
            lifted = dates[2]
            record["moratorium_lifted"] = (
                True if lifted else (None if self.rng.random() < 0.25 else False)
            )
        elif kind == "eviction_notice":
            record["notified_on"] = dates[0].isoformat()
            record["eviction_at"] = f"{dates[1].isoformat()}T{dates[2]}:00"
        record["tenant"] = dict(case.tenant)
        record["dwelling"] = dict(case.dwelling)
        if kind == "objection":
            return record
        record["landlord"] = dict(case.landlord)
        arrears: int | None = case.arrears
        if kind == "judgment":  # the judgment counts the months since the petition too
            arrears = min(1_200_000, case.arrears + int(self.rng.random() * 3) * case.rent)
        elif kind == "eviction_notice" and self.rng.random() < 0.5:
            arrears = None
        record["arrears_eur"] = None if arrears is None else _euros(arrears)
        record["monthly_rent_eur"] = None if self.rng.random() < 0.04 else _euros(case.rent)
        return record

    def _flaw(self, record: dict[str, Any]) -> None:
        """Give the record the next flaw in turn that fits its kind."""
        kind = record["kind"]
        fits = {
            "impossible_date": kind in _DATE_FIELD,
            "not_a_date": kind in _WHEN_FIELD,
            "amount_in_words": "arrears_eur" in record,
        }
        turn = self.flaw_turn
        flaw = next(f for f in turn if fits.get(f, True))
        turn.remove(flaw)
        turn.append(flaw)
        r = self.rng.random
        if flaw == "impossible_date":
            year = int(record["received_on"][:4])
            choices = ((2, 30), (4, 31), (6, 31), (9, 31), (11, 31), (2, 29))
            month, day = choices[int(r() * (5 if year % 4 == 0 else 6))]
            record[_DATE_FIELD[kind]] = f"{year}-{month:02d}-{day:02d}"
        elif flaw == "not_a_date":
            record[_WHEN_FIELD[kind]] = _NOT_A_DATE[int(r() * len(_NOT_A_DATE))]
        elif flaw == "amount_in_words":
            record["arrears_eur"] = _AMOUNT_IN_WORDS[int(r() * len(_AMOUNT_IN_WORDS))]
        elif flaw == "unknown_kind":
            record["kind"] = _UNKNOWN_KIND[kind][int(r() * 2)]
        elif flaw == "missing_docket":
            if r() < 0.5:
                del record["docket_number"]
            else:
                record["docket_number"] = ""
        else:  # missing_last_name
            record["tenant"]["last_name"] = None if r() < 0.5 else ""


def generate_notices(count: int, *, seed: int, start: date, days: int = 60,
                     flawed_share: float = 0.05,
                     triage_share: float = 0.01) -> Iterator[dict[str, Any]]:  # fmt: skip
    """`count` notice records (JSON-shaped dicts as in CONTRACT.md) received over `days` days
    from `start`, in receipt order (received_on never decreases; working days only).

    `flawed_share` of the records must be quarantined (each flaw kind in turn);
    `triage_share` of the cases are valid but cannot be routed with certainty. The same
    arguments give the same stream. Records are produced one by one as they are consumed.
    """
    if count < 0:
        raise ValueError("count must be 0 or more")
    if days < 1:
        raise ValueError("days must be 1 or more")
    if not 0.0 <= flawed_share <= 1.0 or not 0.0 <= triage_share <= 1.0:
        raise ValueError("flawed_share and triage_share must be between 0 and 1")
    return _Generator(count, seed, start, days, flawed_share, triage_share).run()


# --------------------------------------------------------------------------------------------
# Writers
# --------------------------------------------------------------------------------------------


def write_jsonl(records: Iterable[dict[str, Any]], path: Path) -> int:
    """One JSON object a line (UTF-8, "\\n"); returns the number of records written."""
    encode = json.JSONEncoder(ensure_ascii=False).encode
    written = 0
    with Path(path).open("w", encoding="utf-8", newline="\n") as out:
        batch: list[str] = []
        for record in records:
            batch.append(encode(record))
            if len(batch) == 2048:
                out.write("\n".join(batch) + "\n")
                written += len(batch)
                batch.clear()
        if batch:
            out.write("\n".join(batch) + "\n")
            written += len(batch)
    return written


_DATE_COLUMNS = frozenset({"received_on", "filed_on", "served_on", "judgment_on", "notified_on",
                           "tenant_birth_date"})  # fmt: skip
_DATETIME_COLUMNS = frozenset({"hearing_at", "eviction_at"})
_AMOUNT_COLUMNS = frozenset({"arrears_eur", "monthly_rent_eur"})
_DECIMAL = re.compile(r"(-?)(\d+)(?:\.(\d+))?")


def _text_cell(value: Any) -> str:
    if value is None:
        return ""
    if value.__class__ is str:
        return value
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _date_cell(value: Any) -> str:
    if value.__class__ is not str:
        return _text_cell(value)
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        return value  # not a date: Excel keeps the text as it is
    if len(value) == 10 and value[4] == "-":
        return f"{value[8:10]}/{value[5:7]}/{value[:4]}"
    return parsed.strftime("%d/%m/%Y")


def _datetime_cell(value: Any) -> str:
    if value.__class__ is not str:
        return _text_cell(value)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return value
    if len(value) >= 16 and value[4] == "-" and value[13] == ":":
        return f"{value[8:10]}/{value[5:7]}/{value[:4]} {value[11:16]}"
    return parsed.strftime("%d/%m/%Y %H:%M")


def _amount_cell(value: Any) -> str:
    """ "2900.5" -> "2.900,50"; text that is no amount ("deux mille") stays as it is."""
    if value is None or isinstance(value, bool):
        return _text_cell(value)
    if isinstance(value, int | float):
        value = f"{value:.2f}"
    text = str(value)
    match = _DECIMAL.fullmatch(text.strip())
    if match is None:
        return text
    sign, whole, fraction = match.groups()
    grouped = f"{int(whole):,}".replace(",", ".")
    return f"{sign}{grouped},{(fraction or '').ljust(2, '0')}"


def _converter(column: str) -> Callable[[Any], str]:
    if column in _DATE_COLUMNS:
        return _date_cell
    if column in _DATETIME_COLUMNS:
        return _datetime_cell
    if column in _AMOUNT_COLUMNS:
        return _amount_cell
    return _text_cell


_NESTED = ("tenant", "dwelling", "landlord")
_NO_FIELDS: dict[str, Any] = {}


def write_belgian_csv(records: Iterable[dict[str, Any]], path: Path, *, encoding: str = "cp1252",
                      delimiter: str = ";", extra_columns: Sequence[str] = ()) -> int:  # fmt: skip
    """Save records as Excel saves a CSV in Belgium; returns the number of rows written.

    `;` (or `delimiter`), Windows-1252 (or e.g. "utf-8-sig"), CRLF line ends, the header of
    CONTRACT.md's columns in order (then `extra_columns`, top-level fields the contract does
    not know; other unknown fields are left out), dates dd/mm/yyyy, date-times
    "dd/mm/yyyy hh:mm", amounts "2.900,50", booleans "1"/"0", empty for unknown. Text that
    does not parse as a date or an amount is written as it is. A character the encoding
    lacks becomes "?", as in Excel.
    """
    columns = (*CSV_COLUMNS, *extra_columns)
    # (where the value is: 0 the record, 1-3 a nested object; its key; how to write it)
    plan: list[tuple[int, str, Callable[[Any], str]]] = []
    for column in columns:
        prefix = column.split("_", 1)[0]
        if prefix in _NESTED and column not in extra_columns:
            plan.append((1 + _NESTED.index(prefix), column[len(prefix) + 1 :], _converter(column)))
        else:
            plan.append((0, column, _converter(column)))
    written = 0
    with Path(path).open("w", encoding=encoding, errors="replace", newline="") as out:
        writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
        writer.writerow(columns)
        for record in records:
            sources = [record]
            for name in _NESTED:
                nested = record.get(name)
                sources.append(nested if isinstance(nested, dict) else _NO_FIELDS)
            writer.writerow([write(sources[where].get(key)) for where, key, write in plan])
            written += 1
    return written
