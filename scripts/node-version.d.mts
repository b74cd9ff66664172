export declare const MINIMUM: string;
export declare const FETCHED_MAJOR: number;
export declare function nodeIsSupported(version: string): boolean;
export declare function nodePackage(platform: string, arch: string): string | undefined;
export declare function manualNodeRoute(platform: string, arch: string): [install: string, path: string] | undefined;
